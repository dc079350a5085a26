package domain

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Field limits. Names follow GB 11643 practice (the ID card prints up to
// 15 characters; minority and foreign names are longer).
const (
	MaxNameLen   = 50
	maxRefLen    = 64  // ids, codes and short references
	maxTextLen   = 200 // reasons and free text
	maxAccountNo = 32
	minAccountNo = 8
)

// fieldErrors collects what is wrong with a command before any state is read.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, code, format string, args ...any) {
	*f = append(*f, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// err is nil when nothing was added.
func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f...)
}

func (f *fieldErrors) required(field, v string) bool {
	if strings.TrimSpace(v) == "" {
		f.add(field, CodeRequired, "%s is required", field)
		return false
	}
	return true
}

// text checks an optional free-text field's length in characters.
func (f *fieldErrors) text(field, v string, limit int) {
	if !utf8.ValidString(v) {
		f.add(field, CodeInvalidValue, "%s is not valid UTF-8", field)
		return
	}
	if n := utf8.RuneCountInString(v); n > limit {
		f.add(field, CodeTooLong, "%s has %d characters, at most %d allowed", field, n, limit)
	}
}

// requiredText is a required free-text field.
func (f *fieldErrors) requiredText(field, v string, limit int) {
	if f.required(field, v) {
		f.text(field, v, limit)
	}
}

// ref checks an optional code or reference: printable ASCII without spaces.
func (f *fieldErrors) ref(field, v string) {
	if len(v) > maxRefLen {
		f.add(field, CodeTooLong, "%s has %d characters, at most %d allowed", field, len(v), maxRefLen)
		return
	}
	for i := range len(v) {
		if v[i] <= ' ' || v[i] > '~' {
			f.add(field, CodeInvalidValue, "%s must be printable ASCII without spaces", field)
			return
		}
	}
}

func (f *fieldErrors) requiredRef(field, v string) {
	if f.required(field, v) {
		f.ref(field, v)
	}
}

func (f *fieldErrors) cardNo(field, v string) {
	if !f.required(field, v) {
		return
	}
	if err := ValidateCardNo(v); err != nil {
		f.add(field, CodeInvalidCardNo, "%v", err)
	}
}

func (f *fieldErrors) chipID(field, v string) {
	if !f.required(field, v) {
		return
	}
	if err := ValidateChipID(v); err != nil {
		f.add(field, CodeInvalidChipID, "%v", err)
	}
}

func (f *fieldErrors) regionCode(field, v string) {
	if !f.required(field, v) {
		return
	}
	if err := ValidateRegionCode(v); err != nil {
		f.add(field, CodeInvalidRegionCode, "%v", err)
	}
}

func (f *fieldErrors) accountNo(field, v string) {
	if !f.required(field, v) {
		return
	}
	if len(v) < minAccountNo || len(v) > maxAccountNo || !allDigits(v) {
		f.add(field, CodeInvalidValue, "%s must be %d to %d digits", field, minAccountNo, maxAccountNo)
	}
}

func (f *fieldErrors) source(field string, s ApplicationSource) {
	if s == "" {
		f.add(field, CodeRequired, "%s is required", field)
	} else if !s.Valid() {
		f.add(field, CodeInvalidValue, "%s %q is not one of counter, online, bank, batch", field, s)
	}
}

// ValidatePhone checks a mainland mobile number: 11 digits starting with 1.
func ValidatePhone(s string) bool {
	return len(s) == 11 && s[0] == '1' && allDigits(s)
}

// ValidateNationality checks an ISO 3166-1 alpha-3 code such as CHN.
func ValidateNationality(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
