package ecard

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"time"
)

// PublishedKeys is a verifier's copy of GET /v1/ecard/keys: what an
// offline terminal (cardbridge, a CLI) checks codes against. It accepts a
// key from not_before up to, not including, not_after.
type PublishedKeys struct {
	keys map[KeyID]Key
}

// ParsePublishedKeys reads the key endpoint's body, refusing anything but
// Ed25519 keys of 32 bytes under well-formed key ids.
func ParsePublishedKeys(r KeysResponse) (*PublishedKeys, error) {
	out := &PublishedKeys{keys: make(map[KeyID]Key, len(r.Keys))}
	for i, v := range r.Keys {
		id, err := ParseKeyID(v.KID)
		if err != nil {
			return nil, fmt.Errorf("ecard: keys[%d]: %w", i, err)
		}
		if v.Alg != "Ed25519" {
			return nil, fmt.Errorf("ecard: key %s: algorithm %q, want Ed25519", v.KID, v.Alg)
		}
		pub, err := base64.RawURLEncoding.DecodeString(v.PublicKey)
		if err != nil || len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("ecard: key %s: public key is not 32 bytes of base64url", v.KID)
		}
		k := Key{ID: id, Public: pub}
		if k.NotBefore, err = time.Parse(time.RFC3339, v.NotBefore); err != nil {
			return nil, fmt.Errorf("ecard: key %s: not_before: %w", v.KID, err)
		}
		if v.NotAfter != nil {
			t, err := time.Parse(time.RFC3339, *v.NotAfter)
			if err != nil {
				return nil, fmt.Errorf("ecard: key %s: not_after: %w", v.KID, err)
			}
			k.NotAfter = &t
		}
		if _, dup := out.keys[id]; dup {
			return nil, fmt.Errorf("ecard: key %s listed twice", v.KID)
		}
		out.keys[id] = k
	}
	return out, nil
}

// PublicKey implements PublicKeys.
func (p *PublishedKeys) PublicKey(id KeyID, now time.Time) (ed25519.PublicKey, bool) {
	k, ok := p.keys[id]
	if !ok || !k.acceptedAt(now) {
		return nil, false
	}
	return k.Public, true
}
