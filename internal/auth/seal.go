package auth

import (
	"errors"
	"fmt"
)

// Seal seals secret under the current key with label as associated data:
// the HMAC secrets' scheme, for other secrets kept at rest (the e-card's
// signing keys). What is sealed under one label does not open under another.
func (k *SecretKeys) Seal(label string, secret []byte) ([]byte, error) {
	if k == nil {
		return nil, errors.New("seal: no secret keys")
	}
	return k.seal(label, secret)
}

// Open opens what Seal sealed under label, with the current or an older
// key. Unlike HMAC secrets, nothing is accepted in clear.
func (k *SecretKeys) Open(label string, stored []byte) ([]byte, error) {
	if !sealed(stored) {
		return nil, fmt.Errorf("open %s: not sealed", label)
	}
	return k.open(label, stored)
}

// IsCurrent reports whether stored is sealed under the current key (else a
// caller reseals it after a master-key rotation).
func (k *SecretKeys) IsCurrent(stored []byte) bool { return k.isCurrent(stored) }

// Reseal seals under the current key, with label, what is stored: sealed
// under an older key (opened first) or, for a row written before its store
// sealed anything, in clear (sealed as it is). Only start-up migrations use
// it, to leave nothing in clear; reading paths use Open, which refuses clear.
func (k *SecretKeys) Reseal(label string, stored []byte) ([]byte, error) {
	if k == nil {
		return nil, errors.New("reseal: no secret keys")
	}
	secret, err := k.open(label, stored)
	if err != nil {
		return nil, err
	}
	return k.seal(label, secret)
}
