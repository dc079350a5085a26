package hwbridge

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// field describes one TLV record: its tag (= record identifier; in EF05 also
// the record number) and the value length the card specification fixes.
type field struct {
	tag    byte
	name   string
	minLen int
	maxLen int
}

// recordLen is the length of the record holding the longest allowed value:
// tag, one length byte, value.
func (f field) recordLen() byte { return byte(2 + f.maxLen) }

// ef05Fields and ef06Fields are in record-number order (record n is
// fields[n-1]).
func ef05Fields() []field {
	return []field{
		{0x01, "IdentCode", 16, 16},
		{0x02, "Type", 1, 1},
		{0x03, "SpecVersion", 4, 4},
		{0x04, "IssuingOrg", 12, 12},
		{0x05, "IssueDate", 4, 4},
		{0x06, "ExpiryDate", 4, 4},
		{0x07, "Number", 9, 9},
	}
}

func ef06Fields() []field {
	return []field{
		{0x08, "SSN", 18, 18},
		{0x09, "Name", 1, 30},
		{0x0A, "Sex", 1, 1},
		{0x0B, "Ethnicity", 1, 1},
		{0x0C, "Birthplace", 3, 3},
		{0x0D, "BirthDate", 4, 4},
	}
}

// recordValue checks that rec is exactly one SIMPLE-TLV with f's tag and a
// length in f's range, and returns the value.
func recordValue(file string, f field, rec []byte) ([]byte, error) {
	bad := func(format string, a ...any) error {
		return &TLVError{File: file, Tag: f.tag, Reason: fmt.Sprintf(format, a...)}
	}
	if len(rec) < 2 {
		return nil, bad("record of %d bytes has no tag and length", len(rec))
	}
	if rec[0] != f.tag {
		return nil, bad("record carries tag %02X", rec[0])
	}
	n, hdr := int(rec[1]), 2
	switch {
	case rec[1] == 0x81: // BER long form, one length byte
		if len(rec) < 3 {
			return nil, bad("truncated length")
		}
		n, hdr = int(rec[2]), 3
	case rec[1] > 0x80:
		return nil, bad("length form %02X not allowed in a record", rec[1])
	case rec[1] == 0x80:
		return nil, bad("indefinite length")
	}
	if got := len(rec) - hdr; got != n {
		if got < n {
			return nil, bad("truncated: length %d, %d bytes present", n, got)
		}
		return nil, bad("%d bytes after the value", got-n)
	}
	if n < f.minLen || n > f.maxLen {
		if f.minLen == f.maxLen {
			return nil, bad("value of %d bytes, want %d", n, f.minLen)
		}
		return nil, bad("value of %d bytes, want %d-%d", n, f.minLen, f.maxLen)
	}
	return rec[hdr:], nil
}

// decodeIdent builds CardIdent from the values of EF05's records 1-7.
func decodeIdent(v [][]byte) (CardIdent, error) {
	bad := func(name, format string, a ...any) (CardIdent, error) {
		return CardIdent{}, &FieldError{Field: name, Reason: fmt.Sprintf(format, a...)}
	}
	region, ok := bcdDigits(v[0][:3])
	if !ok {
		return bad("IdentCode", "region is not BCD")
	}
	typ := string(v[1])
	if !isAlnum(typ) {
		return bad("Type", "not a letter or digit")
	}
	ver := string(v[2])
	if !isDigits(ver[:1]) || ver[1] != '.' || !isDigits(ver[2:]) {
		return bad("SpecVersion", "%q is not d.dd", ver)
	}
	issue, err := parseBCDDate(v[4])
	if err != nil {
		return bad("IssueDate", "%v", err)
	}
	expiry, err := parseBCDDate(v[5])
	if err != nil {
		return bad("ExpiryDate", "%v", err)
	}
	if expiry.Compare(issue) <= 0 {
		return bad("ExpiryDate", "%s is not after issue date %s", expiry, issue)
	}
	number := string(v[6])
	if !isAlnum(number) || strings.ToUpper(number) != number {
		return bad("Number", "%q is not 9 upper-case letters or digits", number)
	}
	return CardIdent{
		IdentCode:   strings.ToUpper(hex.EncodeToString(v[0])),
		Region:      region,
		Type:        typ,
		SpecVersion: ver,
		IssuingOrg:  strings.ToUpper(hex.EncodeToString(v[3])),
		IssueDate:   issue,
		ExpiryDate:  expiry,
		Number:      number,
	}, nil
}

// decodeHolder builds Holder from the values of EF06's records 1-6 and
// checks it against the citizen ID and the card's issue date.
func decodeHolder(v [][]byte, issued Date) (Holder, error) {
	bad := func(name, format string, a ...any) (Holder, error) {
		return Holder{}, &FieldError{Field: name, Reason: fmt.Sprintf(format, a...)}
	}
	ssn, err := ParseCitizenID(string(v[0]))
	if err != nil {
		return bad("SSN", "%v", err)
	}
	name, err := decodeName(v[1])
	if err != nil {
		return bad("Name", "%v", err)
	}
	var sex Sex
	switch v[2][0] {
	case '1':
		sex = Male
	case '2':
		sex = Female
	default:
		return bad("Sex", "code %#02x is not '1' or '2'", v[2][0])
	}
	if sex != ssn.Sex() {
		return bad("Sex", "%s, but the citizen ID says %s", sex, ssn.Sex())
	}
	eth, ok := bcdDigits(v[3])
	code := atoi(eth)
	if !ok || !(code >= 1 && code <= 56 || code == 97 || code == 98) {
		return bad("Ethnicity", "not a GB 3304 code")
	}
	birthplace, ok := bcdDigits(v[4])
	if !ok {
		return bad("Birthplace", "region code is not BCD")
	}
	birth, err := parseBCDDate(v[5])
	if err != nil {
		return bad("BirthDate", "%v", err)
	}
	if birth != ssn.BirthDate() {
		return bad("BirthDate", "differs from the birth date in the citizen ID")
	}
	if birth.Compare(issued) > 0 {
		return bad("BirthDate", "after the card's issue date")
	}
	return Holder{SSN: ssn, Name: name, Sex: sex, Ethnicity: code, Birthplace: birthplace, BirthDate: birth}, nil
}

// decodeName decodes the GBK name, padded with 0x00 (or spaces) to 30 bytes.
func decodeName(b []byte) (string, error) {
	b = bytes.TrimRight(b, "\x00 ")
	if len(b) == 0 {
		return "", fmt.Errorf("empty")
	}
	// The decoder replaces invalid sequences with U+FFFD instead of failing.
	out, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		return "", fmt.Errorf("not GBK: %w", err)
	}
	s := string(out)
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return "", fmt.Errorf("not GBK text")
		}
	}
	return s, nil
}

func isAlnum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}
