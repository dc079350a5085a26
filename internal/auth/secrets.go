package auth

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SecretKeys seal HMAC secrets at rest with AES-256-GCM, so a dump of
// api_clients does not reveal them. A sealed secret is
// "sk1:" + key id (16 hex digits) + ":" + nonce + ciphertext, with the
// client's name as associated data (a sealed secret copied to another
// client does not open). Older keys open what they sealed; Seal always uses
// the current key. Secrets stored before sealing existed ("cls_..." in
// clear) are still read, and SealSecrets rewrites them.
type SecretKeys struct {
	current secretKey
	byID    map[string]secretKey
}

type secretKey struct {
	id   string
	aead cipher.AEAD
}

const sealedPrefix = "sk1:"

// ErrSecretKey: a sealed secret names a key this instance was not given.
var ErrSecretKey = errors.New("HMAC secret sealed under an unknown key")

// NewSecretKeys takes 32-byte keys: the current one, then older ones still
// needed to open what they sealed.
func NewSecretKeys(current []byte, old ...[]byte) (*SecretKeys, error) {
	k := &SecretKeys{byID: map[string]secretKey{}}
	for i, raw := range append([][]byte{current}, old...) {
		if len(raw) != 32 {
			return nil, fmt.Errorf("secret key %d: want 32 bytes, got %d", i, len(raw))
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("secret key %d: %w", i, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secret key %d: %w", i, err)
		}
		sum := sha256.Sum256(append([]byte("cardledger/client-secret-key-id/v1\x00"), raw...))
		sk := secretKey{id: hex.EncodeToString(sum[:8]), aead: aead}
		if i == 0 {
			k.current = sk
		}
		k.byID[sk.id] = sk
	}
	return k, nil
}

func sealed(stored []byte) bool { return strings.HasPrefix(string(stored), sealedPrefix) }

func (k *SecretKeys) seal(client string, secret []byte) ([]byte, error) {
	nonce := make([]byte, k.current.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal secret: %w", err)
	}
	out := append([]byte(sealedPrefix+k.current.id+":"), nonce...)
	return k.current.aead.Seal(out, nonce, secret, []byte(client)), nil
}

// open returns the secret stored for client: sealed ones are opened,
// secrets stored in clear are returned as they are.
func (k *SecretKeys) open(client string, stored []byte) ([]byte, error) {
	if !sealed(stored) {
		return stored, nil
	}
	rest := stored[len(sealedPrefix):]
	if len(rest) < 17 || rest[16] != ':' {
		return nil, fmt.Errorf("open secret of %s: malformed", client)
	}
	if k == nil {
		return nil, fmt.Errorf("open secret of %s: %w", client, ErrSecretKey)
	}
	sk, ok := k.byID[string(rest[:16])]
	if !ok {
		return nil, fmt.Errorf("open secret of %s: %w", client, ErrSecretKey)
	}
	body := rest[17:]
	n := sk.aead.NonceSize()
	if len(body) < n {
		return nil, fmt.Errorf("open secret of %s: malformed", client)
	}
	secret, err := sk.aead.Open(nil, body[:n], body[n:], []byte(client))
	if err != nil {
		return nil, fmt.Errorf("open secret of %s: %w", client, err)
	}
	return secret, nil
}

// current reports whether stored is sealed under the current key.
func (k *SecretKeys) isCurrent(stored []byte) bool {
	return strings.HasPrefix(string(stored), sealedPrefix+k.current.id+":")
}

// SealSecrets rewrites every HMAC secret that is in clear or sealed under
// an older key, sealed under the current key; it returns how many it
// rewrote. Run at start-up and after a key rotation; safe to repeat.
func SealSecrets(ctx context.Context, db DB, keys *SecretKeys) (int, error) {
	rows, err := db.Query(ctx, `SELECT name, hmac_secret FROM api_clients WHERE hmac_secret IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("seal secrets: %w", err)
	}
	type row struct {
		name   string
		stored []byte
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.name, &r.stored); err != nil {
			rows.Close()
			return 0, fmt.Errorf("seal secrets: %w", err)
		}
		if !keys.isCurrent(r.stored) {
			todo = append(todo, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("seal secrets: %w", err)
	}
	for _, r := range todo {
		secret, err := keys.open(r.name, r.stored)
		if err != nil {
			return 0, fmt.Errorf("seal secrets: %w", err)
		}
		resealed, err := keys.seal(r.name, secret)
		if err != nil {
			return 0, err
		}
		// Only if unchanged since read: a concurrent rewrite wins.
		if _, err := db.Exec(ctx, `UPDATE api_clients SET hmac_secret = $3 WHERE name = $1 AND hmac_secret = $2`,
			r.name, r.stored, resealed); err != nil {
			return 0, fmt.Errorf("seal secret of %s: %w", r.name, err)
		}
	}
	return len(todo), nil
}
