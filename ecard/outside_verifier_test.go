package ecard

import (
	"crypto/ed25519"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// outsideVerify follows docs/ecard.md's offline steps 1–6 with the
// standard library only, as an outside terminal would, from a key list
// shaped like GET /v1/ecard/keys (kid → public key). It returns "ok",
// "malformed", "bad signature" or "expired".
func outsideVerify(text string, keys map[string]ed25519.PublicKey, now time.Time) string {
	if len(text) > 172 || strings.Trim(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" { // step 1
		return "malformed"
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	b, err := enc.DecodeString(text) // step 2
	if err != nil || enc.EncodeToString(b) != text {
		return "malformed"
	}
	if len(b) < 93 || b[0] != 1 { // step 3
		return "malformed"
	}
	n := int(b[26])
	if n < 2 || n > 16 || len(b) != 27+n+64 {
		return "malformed"
	}
	card, ch := b[17:26], b[27:27+n]
	if card[0] < 'A' || card[0] > 'Z' || strings.Trim(string(card[1:]), "0123456789") != "" {
		return "malformed"
	}
	if ch[0] == '-' || strings.Trim(string(ch), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
		return "malformed"
	}
	pub, ok := keys[hex.EncodeToString(b[1:5])]          // step 4
	if !ok || !ed25519.Verify(pub, b[:27+n], b[27+n:]) { // step 5
		return "bad signature"
	}
	if now.Unix() > int64(binary.BigEndian.Uint32(b[5:9])) { // step 6
		return "expired"
	}
	return "ok"
}

// TestDocumentedStepsAgreeWithParse: the verifier written from the
// documentation alone classifies every test code and the fuzz seeds as
// Parse does, so the document is enough to write one.
func TestDocumentedStepsAgreeWithParse(t *testing.T) {
	priv := testKey(0)
	keys := staticKeys{0x0a0b0c0d: priv.Public().(ed25519.PublicKey)}
	outside := map[string]ed25519.PublicKey{"0a0b0c0d": priv.Public().(ed25519.PublicKey)}
	good := mustEncode(t, testClaims("rsapp"), priv)
	texts := []string{good, mustEncode(t, testClaims("abcdefghijklmnop"), priv), good[:len(good)-1], good + "===",
		strings.ToLower(good), good[:len(good)-1] + "7", " " + good, mustEncode(t, testClaims("rsapp"), testKey(1)),
		strings.Repeat("A", 200), "", "HELLO",
		mustEncode(t, Claims{KeyID: 0x0a0b0c0d, Expiry: codeNow.Add(-time.Second), CodeID: CodeID{1}, CardNo: "A10984916", Channel: "rsapp"}, priv)}
	for _, text := range texts {
		want := "ok"
		_, err := Parse(text, keys, codeNow)
		switch {
		case errors.Is(err, ErrMalformed):
			want = "malformed"
		case errors.Is(err, ErrBadSignature):
			want = "bad signature"
		case errors.Is(err, ErrExpired):
			want = "expired"
		}
		if got := outsideVerify(text, outside, codeNow); got != want {
			t.Errorf("%q: the documented steps say %s, Parse %s (%v)", text, got, want, err)
		}
	}
	if outsideVerify(exampleCode, outside, codeNow) != "ok" {
		t.Error("docs/ecard.md's example code does not verify under key 0a0b0c0d")
	}
}
