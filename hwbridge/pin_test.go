package hwbridge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestParsePIN(t *testing.T) {
	cases := []struct {
		in  string
		bcd string // "" for ErrInvalidPIN
	}{
		{"123456", "123456"},
		{"0000", "0000"},
		{"123456789012", "123456789012"},
		{"12345", ""},
		{"12", ""},
		{"12345678901234", ""},
		{"12345a", ""},
		{" 123456", ""},
		{"", ""},
	}
	for _, c := range cases {
		p, err := ParsePIN(c.in)
		if c.bcd == "" {
			// the bare sentinel: the error cannot carry the input
			if err != ErrInvalidPIN {
				t.Errorf("ParsePIN(%q) = %v, want exactly ErrInvalidPIN", c.in, err)
			}
			continue
		}
		if err != nil || hexUpper(p.bcd()) != c.bcd {
			t.Errorf("ParsePIN(%q) = %X, %v", c.in, p.bcd(), err)
		}
	}
}

func TestPINNeverShowsItsDigits(t *testing.T) {
	p, _ := ParsePIN("135790")
	holder := struct{ P PIN }{p}
	var shown []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "%X"} {
		shown = append(shown, fmt.Sprintf(verb, p), fmt.Sprintf(verb, holder), fmt.Sprintf(verb, &p))
	}
	shown = append(shown, p.String(), p.GoString())
	js, _ := json.Marshal(holder)
	shown = append(shown, string(js))
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("verify", "pin", p)
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("verify", "pin", p)
	shown = append(shown, buf.String())
	for _, s := range shown {
		for _, digits := range []string{"135790", "13 57 90", "\x13\x57\x90", "1357"} {
			if strings.Contains(s, digits) {
				t.Errorf("PIN shown as %q", s)
			}
		}
	}
}

func TestPINResultBlocked(t *testing.T) {
	cases := []struct {
		r       PINResult
		blocked bool
	}{
		{PINResult{PINVerified, -1}, false},
		{PINResult{PINWrong, 2}, false},
		{PINResult{PINWrong, 0}, true},
		{PINResult{PINUnverified, 0}, true},
		{PINResult{PINBlocked, 0}, true},
	}
	for _, c := range cases {
		if c.r.Blocked() != c.blocked {
			t.Errorf("%v.Blocked() = %v", c.r, !c.blocked)
		}
	}
}
