package piistore

import (
	"crypto/hmac"
	"crypto/sha256"
)

// Derive returns a 32-byte key for purpose, computed from k (HMAC-SHA256
// keyed by k over a label and purpose), so other secrets protected under the
// master key (API clients' HMAC secrets) never use the key itself and a
// derived key reveals nothing about it.
func (k MasterKey) Derive(purpose string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte("cardledger/derive/v1\x00" + purpose))
	return m.Sum(nil)
}
