package ecard

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"testing"
)

// FuzzParseCode: any text either parses to claims that encode back to the
// same text, or is refused with exactly one of the three sentinel errors;
// never a panic, never an unnamed error. Seeds: testdata/fuzz/FuzzParseCode
// (checked in) plus the ones below.
func FuzzParseCode(f *testing.F) {
	priv := testKey(0)
	keys := staticKeys{0x0a0b0c0d: priv.Public().(ed25519.PublicKey)}
	for _, ch := range []string{"rs", "rsapp", "abcdefghijklmnop"} {
		f.Add(mustEncode(f, testClaims(ch), priv))
	}
	f.Add("")
	f.Add("AEFA")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := Parse(text, keys, codeNow)
		if err != nil {
			n := 0
			for _, s := range []error{ErrMalformed, ErrBadSignature, ErrExpired} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("Parse(%q): %v wraps %d sentinels", text, err, n)
			}
			return
		}
		again, err := Encode(c, priv)
		if err != nil {
			t.Fatalf("accepted claims do not encode: %v", err)
		}
		if again != text {
			t.Fatalf("accepted %q, which encodes as %q", text, again)
		}
		_, signed, sig, err := Decode(text)
		if err != nil || !ed25519.Verify(keys[c.KeyID], signed, sig) || !bytes.Equal(append(signed, sig...), mustRaw(t, text)) {
			t.Fatalf("Decode disagrees with Parse on %q: %v", text, err)
		}
	})
}

func mustRaw(t *testing.T, text string) []byte {
	b, err := encoding.DecodeString(text)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
