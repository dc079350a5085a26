package auth

import (
	"context"
	"crypto/ed25519"
	"fmt"
)

// SetPublicKey makes a signing client (HMAC or Ed25519) sign with its own
// Ed25519 key from now on: pub replaces its HMAC secret (dropped, so the
// secret stops working) or its previous public key (a rotation). Like
// RotateSecret, the change is announced on RevocationChannel, so listening
// authenticators drop the old credential at once. A revoked, unknown or
// non-signing client is ErrNoClient. RotateSecret turns it back into an
// HMAC client.
func SetPublicKey(ctx context.Context, db DB, name string, pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("set public key of %s: want %d bytes, got %d", name, ed25519.PublicKeySize, len(pub))
	}
	var done bool
	err := db.QueryRow(ctx, `WITH r AS (
			UPDATE api_clients SET auth = 'ed25519', public_key = $2, hmac_secret = NULL
			WHERE name = $1 AND auth IN ('hmac', 'ed25519') AND revoked_at IS NULL RETURNING name)
		SELECT EXISTS (SELECT 1 FROM r), (SELECT pg_notify($3, name) FROM r) IS NOT NULL`, name, []byte(pub), RevocationChannel).
		Scan(&done, new(bool))
	if err != nil {
		return fmt.Errorf("set public key of %s: %w", name, err)
	}
	if !done {
		return fmt.Errorf("set public key of %s: %w", name, ErrNoClient)
	}
	return nil
}
