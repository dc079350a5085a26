package ecard

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"testing"
	"time"
)

// TestPublishedKeys: a verifier holding only the key endpoint's JSON
// accepts a code under a published key within its dates, and refuses it
// (ErrBadSignature) before not_before and from not_after on.
func TestPublishedKeys(t *testing.T) {
	priv := testKey(0)
	pub := base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	retire := codeNow.Add(time.Hour).Format(time.RFC3339)
	keys, err := ParsePublishedKeys(KeysResponse{Keys: []KeyView{
		{KID: "0a0b0c0d", Alg: "Ed25519", PublicKey: pub, NotBefore: codeNow.Add(-time.Hour).Format(time.RFC3339), NotAfter: &retire}}})
	if err != nil {
		t.Fatal(err)
	}
	c := testClaims("rsapp")
	c.Expiry = codeNow.Add(3 * time.Hour)
	text := mustEncode(t, c, priv)
	if _, err := Parse(text, keys, codeNow); err != nil {
		t.Fatalf("within the key's dates: %v", err)
	}
	for _, at := range []time.Time{codeNow.Add(-2 * time.Hour), codeNow.Add(time.Hour)} {
		if _, err := Parse(text, keys, at); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("at %v: %v, want ErrBadSignature", at, err)
		}
	}
	for _, bad := range []KeyView{
		{KID: "0A0B0C0D", Alg: "Ed25519", PublicKey: pub, NotBefore: "2026-01-01T00:00:00Z"},
		{KID: "0a0b0c0d", Alg: "RS256", PublicKey: pub, NotBefore: "2026-01-01T00:00:00Z"},
		{KID: "0a0b0c0d", Alg: "Ed25519", PublicKey: pub[:10], NotBefore: "2026-01-01T00:00:00Z"},
		{KID: "0a0b0c0d", Alg: "Ed25519", PublicKey: pub, NotBefore: "yesterday"},
	} {
		if _, err := ParsePublishedKeys(KeysResponse{Keys: []KeyView{bad}}); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}
