package auth

import (
	"context"
	"fmt"
	"strings"
)

// RotateSecret gives an HMAC client a new signing secret (sealed under
// keys; nil: in clear) and returns it, shown once. The old secret stops
// working at once on authenticators that Listen (the change is announced
// on RevocationChannel, which drops their caches), within the cache TTL on
// others. A client signing with an Ed25519 key (SetPublicKey) goes back to
// HMAC: its public key is dropped. A revoked or non-signing client is
// ErrNoClient.
func RotateSecret(ctx context.Context, db DB, name string, keys *SecretKeys) (string, error) {
	secret, err := randomToken(secretPrefix)
	if err != nil {
		return "", fmt.Errorf("rotate secret of %s: %w", name, err)
	}
	stored := []byte(secret)
	if keys != nil {
		if stored, err = keys.seal(strings.TrimSpace(name), stored); err != nil {
			return "", fmt.Errorf("rotate secret of %s: %w", name, err)
		}
	}
	var done bool
	err = db.QueryRow(ctx, `WITH r AS (
			UPDATE api_clients SET auth = 'hmac', hmac_secret = $2, public_key = NULL
			WHERE name = $1 AND auth IN ('hmac', 'ed25519') AND revoked_at IS NULL RETURNING name)
		SELECT EXISTS (SELECT 1 FROM r), (SELECT pg_notify($3, name) FROM r) IS NOT NULL`, name, stored, RevocationChannel).
		Scan(&done, new(bool))
	if err != nil {
		return "", fmt.Errorf("rotate secret of %s: %w", name, err)
	}
	if !done {
		return "", fmt.Errorf("rotate secret of %s: %w", name, ErrNoClient)
	}
	return secret, nil
}
