package ecard

import (
	"crypto/ed25519"
	"encoding/base32"
	"errors"
	"strings"
	"testing"
	"time"
)

// staticKeys accepts the keys it holds at any time.
type staticKeys map[KeyID]ed25519.PublicKey

func (s staticKeys) PublicKey(id KeyID, _ time.Time) (ed25519.PublicKey, bool) {
	k, ok := s[id]
	return k, ok
}

func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune('a'+seed)), ed25519.SeedSize)))
}

var codeNow = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func testClaims(channel string) Claims {
	return Claims{KeyID: 0x0a0b0c0d, Expiry: codeNow.Add(time.Minute), CodeID: CodeID{1, 2, 3, 4, 5, 6, 7, 8},
		CardNo: "A10984916", Channel: channel}
}

func mustEncode(t testing.TB, c Claims, priv ed25519.PrivateKey) string {
	t.Helper()
	s, err := Encode(c, priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCodeRoundTrip(t *testing.T) {
	priv := testKey(0)
	keys := staticKeys{0x0a0b0c0d: priv.Public().(ed25519.PublicKey)}
	for _, ch := range []string{"rs", "rsapp", "icbc-app", "abcdefghijklmnop"} {
		c := testClaims(ch)
		text := mustEncode(t, c, priv)
		got, err := Parse(text, keys, codeNow)
		if err != nil {
			t.Fatalf("channel %s: %v", ch, err)
		}
		if got != c {
			t.Fatalf("channel %s: got %+v, want %+v", ch, got, c)
		}
		if strings.Trim(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("code %q has characters outside upper-case base32", text)
		}
	}
}

func TestCodeCarriesNoPersonalData(t *testing.T) {
	// The signed part is exactly the layout: nothing but version, key,
	// expiry, code id, card number and channel fits in it.
	c := testClaims("rsapp")
	_, signed, sig, err := Decode(mustEncode(t, c, testKey(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(signed) != 27+len("rsapp") || len(sig) != ed25519.SignatureSize {
		t.Fatalf("signed %d bytes, signature %d", len(signed), len(sig))
	}
}

func TestParseRefusals(t *testing.T) {
	priv, other := testKey(0), testKey(1)
	keys := staticKeys{0x0a0b0c0d: priv.Public().(ed25519.PublicKey)}
	good := mustEncode(t, testClaims("rsapp"), priv)
	raw, _ := encoding.DecodeString(good)
	reencode := func(f func([]byte) []byte) string {
		b := append([]byte(nil), raw...)
		return encoding.EncodeToString(f(b))
	}
	resign := func(f func([]byte) []byte) string { // change the payload, sign it again
		b := f(append([]byte(nil), raw[:len(raw)-ed25519.SignatureSize]...))
		return encoding.EncodeToString(append(b, ed25519.Sign(priv, b)...))
	}
	otherKeyClaims := testClaims("rsapp")
	otherKeyClaims.KeyID = 0x01020304
	cases := []struct {
		name string
		text string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"truncated by one character", good[:len(good)-1], ErrMalformed},
		{"truncated by 8 characters (5 bytes)", good[:len(good)-8], ErrMalformed},
		{"padded with =", good + strings.Repeat("=", 8-len(good)%8), ErrMalformed},
		{"lower case", strings.ToLower(good), ErrMalformed},
		{"one lower-case character", "a" + good[1:], ErrMalformed},
		{"base32hex alphabet", base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(raw), ErrMalformed},
		{"newline inside", good[:10] + "\n" + good[10:], ErrMalformed},
		{"surrounding space", " " + good, ErrMalformed},
		{"unused bits set", good[:len(good)-1] + "7", ErrMalformed},
		{"trailing byte", reencode(func(b []byte) []byte { return append(b, 0) }), ErrMalformed},
		{"oversized", strings.Repeat("A", MaxCodeLen+1), ErrMalformed},
		{"huge", strings.Repeat("A", 1<<20), ErrMalformed},
		{"unknown version", resign(func(b []byte) []byte { b[0] = 2; return b }), ErrMalformed},
		{"channel length past the end", reencode(func(b []byte) []byte { b[offChanLen] = 40; return b }), ErrMalformed},
		{"channel length too short", reencode(func(b []byte) []byte { b[offChanLen] = 1; return b }), ErrMalformed},
		{"card number not a card number", resign(func(b []byte) []byte { b[offCardNo] = 'a'; return b }), ErrMalformed},
		{"channel not a channel code", resign(func(b []byte) []byte { b[offChannel] = 'R'; return b }), ErrMalformed},
		{"garbage", "HELLOWORLD", ErrMalformed},
		{"not base32 at all", "这不是码", ErrMalformed},
		{"flipped signature bit", reencode(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), ErrBadSignature},
		{"changed card number, old signature", reencode(func(b []byte) []byte { b[offCardNo+8] ^= 1; return b }), ErrBadSignature},
		{"another key's code", mustEncode(t, otherKeyClaims, other), ErrBadSignature},
		{"known key id, signed by another key", mustEncode(t, testClaims("rsapp"), other), ErrBadSignature},
		{"expired", mustEncode(t, Claims{KeyID: 0x0a0b0c0d, Expiry: codeNow.Add(-time.Second), CodeID: CodeID{9},
			CardNo: "A10984916", Channel: "rsapp"}, priv), ErrExpired},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.text, keys, codeNow)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse: %v, want %v", err, tc.want)
			}
		})
	}
}

func TestExpiryIsInclusive(t *testing.T) {
	priv := testKey(0)
	keys := staticKeys{0x0a0b0c0d: priv.Public().(ed25519.PublicKey)}
	c := testClaims("rsapp")
	text := mustEncode(t, c, priv)
	if _, err := Parse(text, keys, c.Expiry.Add(999*time.Millisecond)); err != nil {
		t.Fatalf("within the expiry second: %v", err)
	}
	if _, err := Parse(text, keys, c.Expiry.Add(time.Second)); !errors.Is(err, ErrExpired) {
		t.Fatalf("a second later: %v, want ErrExpired", err)
	}
}

func TestKeyIDText(t *testing.T) {
	for _, s := range []string{"0a0b0c0d", "ffffffff", "00000000"} {
		k, err := ParseKeyID(s)
		if err != nil || k.String() != s {
			t.Fatalf("ParseKeyID(%q) = %v, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "0A0B0C0D", "0a0b0c0", "0a0b0c0d0", "+a0b0c0d", "zzzzzzzz"} {
		if _, err := ParseKeyID(s); err == nil {
			t.Fatalf("ParseKeyID(%q) accepted", s)
		}
	}
}

// TestQRVersionAtLevelM pins the QR version a code needs at level M: the
// shortest channel code fits version 6 (41 modules), the longest version 7
// (45 modules); MaxQRVersion stops a layout change from growing it unseen.
func TestQRVersionAtLevelM(t *testing.T) {
	for _, tc := range []struct {
		channel string
		version int
	}{{"rs", 6}, {"rsapp", 6}, {"icbc-app", 7}, {"abcdefghijklmnop", 7}} {
		text := mustEncode(t, testClaims(tc.channel), testKey(0))
		q, err := NewQR(text)
		if err != nil {
			t.Fatal(err)
		}
		if q.Version() != tc.version {
			t.Errorf("channel %q (%d characters): version %d, want %d", tc.channel, len(text), q.Version(), tc.version)
		}
		if q.Version() > MaxQRVersion {
			t.Errorf("version %d over %d", q.Version(), MaxQRVersion)
		}
	}
}
