package httpapi_test

import (
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// FuzzSignedRequestVerify: verification never panics, accepts only what
// Compute signs, refuses anything outside the clock skew, and a change to any
// signed part breaks an accepted signature.
func FuzzSignedRequestVerify(f *testing.F) {
	f.Add("POST", "/v1/cards/A12345678/loss?x=1", "icbc-gw", "1772355600", "0123456789abcdef", "", []byte(`{"reason":"lost"}`), int64(0))
	f.Add("GET", "/v1/cardholders?id_number=1", "c", "1772355900", "nonce_nonce_nonce-1", "00", []byte{}, int64(-301))
	f.Add("post", "/\n", "a b", "-1", "short", "zz", []byte{0xff}, int64(300))
	secret := []byte("cls_fuzz-secret")
	base := time.Unix(1772355600, 0)
	f.Fuzz(func(t *testing.T, method, target, client, ts, nonce, sig string, body []byte, offset int64) {
		now := base.Add(time.Duration(offset%100_000) * time.Second)
		s := httpapi.SignedRequest{Method: method, Target: target, Client: client, Timestamp: ts, Nonce: nonce,
			Signature: sig, BodyHash: sha256.Sum256(body)}
		if err := s.Verify(httpapi.HMACKey(secret), now); err == nil && sig != s.Compute(secret) {
			t.Fatalf("accepted a signature Compute did not make: %q", sig)
		}

		s.Signature = s.Compute(secret)
		err := s.Verify(httpapi.HMACKey(secret), now)
		if err == nil {
			at, _ := s.Time()
			if d := now.Sub(at); d > httpapi.MaxClockSkew || d < -httpapi.MaxClockSkew {
				t.Fatalf("accepted a timestamp %s away", d)
			}
			changed := s
			changed.BodyHash[0] ^= 1
			if changed.Verify(httpapi.HMACKey(secret), now) == nil {
				t.Fatal("accepted a changed body")
			}
			changed = s
			changed.Target += "x"
			if changed.Verify(httpapi.HMACKey(secret), now) == nil {
				t.Fatal("accepted a changed target")
			}
			if s.Verify(httpapi.HMACKey([]byte("another secret")), now) == nil {
				t.Fatal("accepted under another secret")
			}
			return
		}
		if !errors.Is(err, httpapi.ErrSignatureMalformed) && !errors.Is(err, httpapi.ErrSignatureStale) {
			t.Fatalf("a correctly signed request failed with %v", err)
		}
	})
}
