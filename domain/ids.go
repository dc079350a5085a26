package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Validation errors of the identifier checks. They are plain sentinels (wrapped
// with detail); Decide turns them into field errors.
var (
	ErrIDNumberLength     = errors.New("id number must be 18 characters")
	ErrIDNumberCharacters = errors.New("id number must be 17 digits and a digit or X")
	ErrIDNumberRegion     = errors.New("id number region prefix is not a province")
	ErrIDNumberBirthDate  = errors.New("id number birth date is invalid")
	ErrIDNumberCheckDigit = errors.New("id number check digit is wrong")
	ErrRegionCode         = errors.New("invalid region code")
	ErrCardNo             = errors.New("card number must be an uppercase letter and 8 digits")
	ErrChipID             = errors.New("chip id must be 32 hex digits")
)

// idWeight is the GB 11643 weight of digit i (0-based): 2^(17-i) mod 11.
func idWeight(i int) int { return (1 << (17 - i)) % 11 }

// idCheckChars maps the weighted sum mod 11 to the check character (ISO 7064 MOD 11-2).
const idCheckChars = "10X98765432"

// earliestBirthYear rejects dates no living person can have.
const earliestBirthYear = 1900

// ValidateIDNumber checks an 18-character citizen ID number (GB 11643-1999):
// 17 digits and a check character (a digit or uppercase X) computed by ISO 7064
// MOD 11-2, a province prefix from GB/T 2260 and a real birth date
// (digits 7–14, YYYYMMDD) between 1900 and today (UTC+8). Callers normalise
// input with NormalizeIDNumber first; lowercase x is rejected here.
//
// Only the province prefix is checked, not the full 6-digit region: the
// region is where the number was issued, and many of those codes have since
// been abolished.
func ValidateIDNumber(s string) error {
	return validateIDNumberAt(s, time.Now())
}

func validateIDNumberAt(s string, now time.Time) error {
	if len(s) != 18 {
		return fmt.Errorf("%w: got %d", ErrIDNumberLength, len(s))
	}
	sum := 0
	for i := range 17 {
		c := s[i]
		if c < '0' || c > '9' {
			return ErrIDNumberCharacters
		}
		sum += int(c-'0') * idWeight(i)
	}
	last := s[17]
	if (last < '0' || last > '9') && last != 'X' {
		return ErrIDNumberCharacters
	}
	if !isProvince(s[:2]) {
		return fmt.Errorf("%w: %s", ErrIDNumberRegion, s[:2])
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil {
		return fmt.Errorf("%w: %s", ErrIDNumberBirthDate, s[6:14])
	}
	today := civilDate(now)
	if birth.Year() < earliestBirthYear || birth.After(today) {
		return fmt.Errorf("%w: %s", ErrIDNumberBirthDate, s[6:14])
	}
	if want := idCheckChars[sum%11]; last != want {
		return fmt.Errorf("%w: want %c", ErrIDNumberCheckDigit, want)
	}
	return nil
}

// IDCheckChar returns the check character for the first 17 digits of an ID
// number. It is for tests and data generators; it panics on non-digits.
func IDCheckChar(first17 string) byte {
	if len(first17) != 17 {
		panic("IDCheckChar: need 17 digits")
	}
	sum := 0
	for i := range 17 {
		c := first17[i]
		if c < '0' || c > '9' {
			panic("IDCheckChar: need 17 digits")
		}
		sum += int(c-'0') * idWeight(i)
	}
	return idCheckChars[sum%11]
}

// NormalizeIDNumber trims spaces and upper-cases a trailing x.
func NormalizeIDNumber(s string) string {
	return strings.ToUpper(strings.TrimSpace(s))
}

// BirthDateOf returns the birth date encoded in a valid ID number, as
// midnight UTC of that civil date.
func BirthDateOf(idNumber string) (time.Time, error) {
	if err := ValidateIDNumber(idNumber); err != nil {
		return time.Time{}, err
	}
	return time.Parse("20060102", idNumber[6:14])
}

// SexOf reads the sex from the 17th digit: odd is male, even is female. It
// returns "" when that digit is missing or not a digit.
func SexOf(idNumber string) Sex {
	if len(idNumber) < 17 {
		return ""
	}
	d := idNumber[16]
	switch {
	case d < '0' || d > '9':
		return ""
	case (d-'0')%2 == 1:
		return Male
	default:
		return Female
	}
}

func isProvince(prefix string) bool { return provinceName(prefix) != "" }

// ValidateRegionCode checks a 6-digit GB/T 2260 administrative division code.
// The rule: six ASCII digits; the first two are a real province prefix; and a
// code whose prefecture digits (3–4) are "00" must be the province itself
// (xx0000), because no county hangs directly off "00". Province (xx0000),
// prefecture (xxyy00) and county (xxyyzz) codes are all accepted; whether a
// particular prefecture or county exists is not checked, since codes change
// every year and old records keep old codes.
func ValidateRegionCode(s string) error {
	if len(s) != 6 || !allDigits(s) {
		return fmt.Errorf("%w: %q is not 6 digits", ErrRegionCode, s)
	}
	if !isProvince(s[:2]) {
		return fmt.Errorf("%w: %q has no province %s", ErrRegionCode, s, s[:2])
	}
	if s[2:4] == "00" && s[4:6] != "00" {
		return fmt.Errorf("%w: %q has a county under prefecture 00", ErrRegionCode, s)
	}
	return nil
}

// PrefectureOf returns the prefecture-level code containing a region code
// (first 4 digits + "00"), or "" for input shorter than 4 characters. For a
// province code it returns the province code itself.
func PrefectureOf(regionCode string) string {
	if len(regionCode) < 4 {
		return ""
	}
	return regionCode[:4] + "00"
}

// CardholderIDFor derives the cardholder id from an ID number: the first 32
// hex characters of HMAC-SHA256(key, normalised ID number). The id goes into
// stream names and logs, so it must not reveal the ID number, and the same
// person must always get the same id so that a second registration collides
// with the first stream.
func CardholderIDFor(key []byte, idNumber string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(NormalizeIDNumber(idNumber)))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

// StreamPrefix starts every cardholder stream name.
const StreamPrefix = "cardholder-"

// StreamFor is the event stream of one cardholder.
func StreamFor(cardholderID string) string { return StreamPrefix + cardholderID }

// CardholderIDOfStream is the inverse of StreamFor; ok is false for other streams.
func CardholderIDOfStream(stream string) (id string, ok bool) {
	return strings.CutPrefix(stream, StreamPrefix)
}

// ValidateCardNo checks a social-security card number: one uppercase letter
// and 8 digits, e.g. A12345678.
func ValidateCardNo(s string) error {
	if len(s) != 9 || s[0] < 'A' || s[0] > 'Z' || !allDigits(s[1:]) {
		return fmt.Errorf("%w: %q", ErrCardNo, s)
	}
	return nil
}

// ValidateChipID checks a card identification code: 32 hex digits, either case.
func ValidateChipID(s string) error {
	if len(s) != 32 {
		return fmt.Errorf("%w: %q", ErrChipID, s)
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return fmt.Errorf("%w: %q", ErrChipID, s)
		}
	}
	return nil
}

func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// civilDate is t's calendar date in China as midnight UTC, comparable with
// dates parsed by time.Parse.
func civilDate(t time.Time) time.Time {
	// UTC+8 without a tz database lookup; China has no DST.
	y, m, d := t.In(time.FixedZone("CST", 8*60*60)).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
