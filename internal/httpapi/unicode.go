package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// checkJSONText refuses a JSON body whose text would not survive decoding
// as sent. encoding/json replaces both bytes that are not UTF-8 and \u
// escapes of half a UTF-16 surrogate pair with U+FFFD, so without this
// check a name or a reason would be stored, hash-chained, with a character
// the caller never sent. The problem names the field holding it when the
// JSON up to that point is well formed.
func checkJSONText(data []byte) *Problem {
	off, what, ok := firstBadText(data)
	if ok {
		return nil
	}
	detail := fmt.Sprintf("the body is not valid UTF-8 at byte %d: %s; send text as UTF-8", off, what)
	field, inKey := fieldAt(data, off)
	if field == "" {
		return BadRequest(CodeInvalidUTF8, detail)
	}
	msg := "not valid UTF-8: " + what
	if inKey {
		msg = "a key in this object is not valid UTF-8: " + what
	}
	return BadRequest(CodeInvalidUTF8, detail, FieldError{Field: field, Code: CodeInvalidUTF8, Message: msg})
}

// firstBadText returns the offset of the first byte sequence that is not
// UTF-8, or of the first \u escape of a surrogate not followed by its pair,
// and what it is; ok is true when there is none.
func firstBadText(data []byte) (off int, what string, ok bool) {
	inString := false
	for i := 0; i < len(data); {
		b := data[i]
		if b >= utf8.RuneSelf {
			r, size := utf8.DecodeRune(data[i:])
			if r == utf8.RuneError && size == 1 {
				return i, fmt.Sprintf("byte 0x%02x is not part of a valid UTF-8 sequence", b), false
			}
			i += size
			continue
		}
		switch {
		case b == '"':
			inString = !inString
		case inString && b == '\\':
			if r, ok := hex4(data, i+2); ok && data[i+1] == 'u' && utf16.IsSurrogate(r) {
				if r >= 0xdc00 {
					return i, "a \\u escape of a lone low surrogate (U+FFFD would be stored)", false
				}
				if low, ok := hex4(data, i+8); !ok || data[i+6] != '\\' || data[i+7] != 'u' || low < 0xdc00 || low > 0xdfff {
					return i, "a \\u escape of a high surrogate without its low half (U+FFFD would be stored)", false
				}
				i += 12
				continue
			}
			i += 2 // the escaped character cannot end the string
			continue
		}
		i++
	}
	return 0, "", true
}

// hex4 reads the four hex digits at data[i:i+4].
func hex4(data []byte, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// fieldAt names the value holding byte off, as "a.b[2].c", by walking the
// tokens up to it; inKey says off is inside an object key, and then the
// object is named. It returns "" when the JSON is malformed before off.
func fieldAt(data []byte, off int) (field string, inKey bool) {
	type frame struct {
		object  bool
		wantKey bool
		key     string
		index   int
	}
	var stack []frame
	name := func() string {
		var b strings.Builder
		for _, f := range stack {
			if !f.object {
				fmt.Fprintf(&b, "[%d]", f.index)
				continue
			}
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(f.key)
		}
		return b.String()
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return "", false
		}
		end := dec.InputOffset()
		hit := int64(off) >= start && int64(off) < end
		closing := tok == json.Delim('}') || tok == json.Delim(']')
		if top := len(stack) - 1; top >= 0 && !closing {
			f := &stack[top]
			switch {
			case f.object && f.wantKey:
				if hit {
					f.key = ""
					stack = stack[:top]
					return name(), true
				}
				f.key, f.wantKey = tok.(string), false
				continue
			case f.object:
				f.wantKey = true // after this value
			default:
				f.index++
			}
		}
		if hit {
			return name(), false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, frame{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, frame{index: -1})
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
}

// utf8Params refuses a request whose path or query parameters, decoded,
// are not UTF-8 (400 invalid_utf8 naming the parameter): handlers record
// some of them, and PostgreSQL would refuse the others with a 500.
func utf8Params(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		bad := func(field, where string) error {
			detail := where + " is not valid UTF-8 once percent-decoded"
			if field == "" {
				return BadRequest(CodeInvalidUTF8, detail)
			}
			return BadRequest(CodeInvalidUTF8, detail, FieldError{Field: field, Code: CodeInvalidUTF8, Message: detail})
		}
		values := c.ParamValues()
		for i, name := range c.ParamNames() {
			if i < len(values) && !utf8.ValidString(values[i]) {
				return bad(name, "path parameter "+name)
			}
		}
		for name, vs := range c.QueryParams() {
			if !utf8.ValidString(name) {
				return bad("", "a query parameter name")
			}
			for _, v := range vs {
				if !utf8.ValidString(v) {
					return bad(name, "query parameter "+name)
				}
			}
		}
		return next(c)
	}
}
