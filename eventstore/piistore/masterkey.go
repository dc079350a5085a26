package piistore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// MasterKeySize is the length of a master key: AES-256.
const MasterKeySize = 32

// ErrBadMasterKey: a master key that is not 32 bytes of hex or base64. The
// message never repeats the key.
var ErrBadMasterKey = errors.New("master key must be 32 bytes as hex (64 digits) or base64")

// MasterKey wraps data keys. Its id is derived from the key itself, so a
// wrapped data key names the master key it needs without any registry and
// a configuration cannot mislabel a key.
type MasterKey struct {
	id  string
	key []byte
}

// ParseMasterKey reads a key written as hex or base64 (standard or URL
// alphabet, padded or not); surrounding white space is ignored, so a key
// file may end with a newline.
func ParseMasterKey(s string) (MasterKey, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == MasterKeySize {
		return NewMasterKey(b)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == MasterKeySize {
			return NewMasterKey(b)
		}
	}
	return MasterKey{}, ErrBadMasterKey
}

// NewMasterKey uses raw as a master key.
func NewMasterKey(raw []byte) (MasterKey, error) {
	if len(raw) != MasterKeySize {
		return MasterKey{}, ErrBadMasterKey
	}
	sum := sha256.Sum256(append([]byte("cardledger/pii/master-key-id/v1\x00"), raw...))
	return MasterKey{id: hex.EncodeToString(sum[:8]), key: append([]byte(nil), raw...)}, nil
}

// GenerateMasterKey makes a fresh random key and returns it with its hex
// form (what CARDLEDGER_MASTER_KEY takes).
func GenerateMasterKey() (MasterKey, string, error) {
	raw := make([]byte, MasterKeySize)
	if _, err := rand.Read(raw); err != nil {
		return MasterKey{}, "", err
	}
	k, err := NewMasterKey(raw)
	return k, hex.EncodeToString(raw), err
}

// ID names the key in pii_data_keys.master_key_id: 16 hex digits of a hash
// of the key, which reveals nothing about it.
func (k MasterKey) ID() string { return k.id }

// IsZero reports whether k is the zero value (no key).
func (k MasterKey) IsZero() bool { return len(k.key) == 0 }
