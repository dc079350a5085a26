package domain

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ParseEd25519PublicKey reads an app's Ed25519 public key: the raw 32
// bytes in base64, standard or URL-safe, padded or not (what
// `openssl pkey -pubout -outform DER | tail -c 32 | base64` and most
// libraries print). Other forms (PEM, SPKI DER, hex) are refused rather
// than guessed at, and so is the all-zero key.
func ParseEd25519PublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the Ed25519 public key is required")
	}
	trimmed := strings.TrimRight(s, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(trimmed, "-_") {
		enc = base64.RawURLEncoding
	}
	raw, err := enc.DecodeString(trimmed)
	if err != nil {
		return nil, fmt.Errorf("the public key must be base64 of the raw %d-byte Ed25519 key", ed25519.PublicKeySize)
	}
	if len(raw) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("the public key must be the raw %d-byte Ed25519 key, got %d bytes", ed25519.PublicKeySize, len(raw))
	}
	if strings.Trim(string(raw), "\x00") == "" {
		return nil, errors.New("the all-zero key is not a public key")
	}
	return ed25519.PublicKey(raw), nil
}
