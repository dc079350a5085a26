package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SigningKeyEnv is the configuration variable holding the digest signing
// key: an Ed25519 seed of 32 bytes as hex or (standard or URL) base64.
const SigningKeyEnv = "CARDLEDGER_AUDIT_SIGNING_KEY"

// ErrNoSigningKey: digests cannot be signed without a key.
var ErrNoSigningKey = errors.New(SigningKeyEnv + " is not set")

// ParseSigningKey reads an Ed25519 seed written as hex or base64.
func ParseSigningKey(s string) (ed25519.PrivateKey, error) {
	seed, err := decodeKey(s, ed25519.SeedSize)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", SigningKeyEnv, err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ParsePublicKey reads an Ed25519 public key written as hex or base64.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	k, err := decodeKey(s, ed25519.PublicKeySize)
	if err != nil {
		return nil, fmt.Errorf("public key: %w", err)
	}
	return ed25519.PublicKey(k), nil
}

func decodeKey(s string, size int) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty key")
	}
	if b, err := hex.DecodeString(s); err == nil && len(b) == size {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == size {
			return b, nil
		}
	}
	return nil, fmt.Errorf("want %d bytes as hex or base64", size)
}
