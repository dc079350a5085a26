package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// CodeInvalidUTF8 refuses text that is not UTF-8 (KindInvalid): stored, it
// would read back with U+FFFD in place of what was sent.
const CodeInvalidUTF8 = "invalid_utf8"

// replacedText reports whether encoding/json replaced a byte that is not
// UTF-8 while writing data: it writes such a byte as the escape \ufffd,
// but a real U+FFFD as itself, so only an escape that is not itself
// escaped (an odd run of backslashes before "ufffd") is a replacement.
func replacedText(data []byte) bool {
	for i := 0; ; {
		k := bytes.Index(data[i:], []byte(`ufffd`))
		if k < 0 {
			return false
		}
		k += i
		slashes := 0
		for j := k - 1; j >= 0 && data[j] == '\\'; j-- {
			slashes++
		}
		if slashes%2 == 1 {
			return true
		}
		i = k + 1
	}
}

// checkText refuses data in which encoding/json replaced text.
func checkText(what string, data []byte) error {
	if replacedText(data) {
		return &Error{Kind: KindInvalid, Code: CodeInvalidUTF8,
			Message: fmt.Sprintf("%s holds text that is not UTF-8; it would be stored altered", what)}
	}
	return nil
}

// EncodeMetadata encodes an event's metadata, refusing text that is not
// UTF-8 (an X-Operator header, say) with CodeInvalidUTF8.
func EncodeMetadata(m Metadata) ([]byte, error) {
	data, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	if err := checkText("metadata", data); err != nil {
		return nil, err
	}
	return data, nil
}
