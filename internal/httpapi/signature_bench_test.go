package httpapi_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// BenchmarkSignedRequestVerify is the CPU cost a signature adds to a
// request (without the nonce round trip to PostgreSQL).
func BenchmarkSignedRequestVerify(b *testing.B) {
	now := time.Unix(1772355600, 0)
	s := httpapi.SignedRequest{Method: "POST", Target: "/v1/cards/A12345678/loss", Client: "icbc-gw",
		Timestamp: "1772355600", Nonce: "0123456789abcdef", BodyHash: sha256.Sum256([]byte(`{"reason":"lost"}`))}
	s.Signature = s.Compute(testSecret)
	for b.Loop() {
		if err := s.Verify(httpapi.HMACKey(testSecret), now); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignedRequestVerifyEd25519 is the same for CL1-ED25519: one
// Ed25519 verification instead of one HMAC.
func BenchmarkSignedRequestVerifyEd25519(b *testing.B) {
	now := time.Unix(1772355600, 0)
	s := httpapi.SignedRequest{Method: "POST", Target: "/v1/cards/A12345678/loss", Client: "icbc-ed",
		Timestamp: "1772355600", Nonce: "0123456789abcdef", BodyHash: sha256.Sum256([]byte(`{"reason":"lost"}`))}
	s.Signature = s.ComputeEd25519(testEd25519)
	key := httpapi.Ed25519Key(testEd25519.Public().(ed25519.PublicKey))
	for b.Loop() {
		if err := s.Verify(key, now); err != nil {
			b.Fatal(err)
		}
	}
}
