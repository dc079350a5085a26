package hwbridge

import (
	"fmt"
	"time"
)

// Date is a calendar date as the card stores it (BCD YYYYMMDD), with no
// time of day and no zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// chinaOffset is China Standard Time (UTC+8, no daylight saving), the zone
// the card's dates are meant in.
const chinaOffset = 8 * time.Hour

// DateOf returns the calendar date in China at instant t.
func DateOf(t time.Time) Date {
	c := t.UTC().Add(chinaOffset)
	return Date{c.Year(), c.Month(), c.Day()}
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	a := d.Year*10000 + int(d.Month)*100 + d.Day
	b := e.Year*10000 + int(e.Month)*100 + e.Day
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// parseDigits parses an 8-digit YYYYMMDD string into a real calendar date
// (no 2月30日) in years 1900-2099.
func parseDigits(s string) (Date, error) {
	if len(s) != 8 || !isDigits(s) {
		return Date{}, fmt.Errorf("want 8 digits YYYYMMDD")
	}
	y := atoi(s[:4])
	m := time.Month(atoi(s[4:6]))
	day := atoi(s[6:])
	if y < 1900 || y > 2099 {
		return Date{}, fmt.Errorf("year %d out of range", y)
	}
	t := time.Date(y, m, day, 0, 0, 0, 0, time.UTC)
	if t.Month() != m || t.Day() != day {
		return Date{}, fmt.Errorf("no such date %04d-%02d-%02d", y, int(m), day)
	}
	return Date{y, m, day}, nil
}

// parseBCDDate parses a 4-byte BCD date.
func parseBCDDate(b []byte) (Date, error) {
	if len(b) != 4 {
		return Date{}, fmt.Errorf("want 4 bytes, got %d", len(b))
	}
	s, ok := bcdDigits(b)
	if !ok {
		return Date{}, fmt.Errorf("not BCD")
	}
	return parseDigits(s)
}

// bcdDigits unpacks BCD bytes into decimal digits; ok is false if a nibble
// is not 0-9.
func bcdDigits(b []byte) (string, bool) {
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		hi, lo := x>>4, x&0x0F
		if hi > 9 || lo > 9 {
			return "", false
		}
		out = append(out, '0'+hi, '0'+lo)
	}
	return string(out), true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// atoi parses a string already checked by isDigits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
