package deliveries

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/internal/auth"
)

// Signing secrets are kept sealed (auth.SecretKeys, the scheme of the API
// clients' HMAC secrets): a copy of deliveries.subscriptions does not let
// its holder sign deliveries a bank or merchant would accept. The label
// names the subscription's kind and id, so a sealed secret moved to another
// row does not open; a secret is opened only to sign a delivery.

// secretLabel is the sealing label of a subscription's secret.
func secretLabel(id uuid.UUID, merchant string) string {
	if merchant != "" {
		return "merchant-notify-secret:" + merchant
	}
	return "delivery-subscription-secret:" + id.String()
}

func (s Subscription) secretLabel() string { return secretLabel(s.ID, s.Merchant) }

// newSecret makes a signing secret: as shown once (64 hex digits, the HMAC
// key as it is) and as stored, sealed under label.
func newSecret(keys *auth.SecretKeys, label string) (shown string, sealed []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("deliveries: new secret: %w", err)
	}
	shown = hex.EncodeToString(b)
	sealed, err = keys.Seal(label, []byte(shown))
	if err != nil {
		return "", nil, fmt.Errorf("deliveries: seal secret: %w", err)
	}
	return shown, sealed, nil
}

// SealSecrets seals under the current key every subscription secret stored
// in clear (before secrets were sealed) or under an older key, and returns
// how many it rewrote. Run at start-up, before the deliveries run, and so
// after a master-key rotation; safe to repeat and to run concurrently.
func SealSecrets(ctx context.Context, pool *pgxpool.Pool, keys *auth.SecretKeys) (int, error) {
	rows, err := pool.Query(ctx, `SELECT id, merchant, secret FROM deliveries.subscriptions`)
	if err != nil {
		return 0, fmt.Errorf("deliveries: seal secrets: %w", err)
	}
	type row struct {
		id       uuid.UUID
		merchant string
		stored   []byte
	}
	var todo []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.merchant, &r.stored); err != nil {
			rows.Close()
			return 0, fmt.Errorf("deliveries: seal secrets: %w", err)
		}
		if !keys.IsCurrent(r.stored) {
			todo = append(todo, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("deliveries: seal secrets: %w", err)
	}
	for _, r := range todo {
		resealed, err := keys.Reseal(secretLabel(r.id, r.merchant), r.stored)
		if err != nil {
			return 0, fmt.Errorf("deliveries: seal secret of %s: %w", r.id, err)
		}
		// Only if unchanged since read: a rotation or another instance's
		// rewrite in between wins.
		if _, err := pool.Exec(ctx, `UPDATE deliveries.subscriptions SET secret = $3 WHERE id = $1 AND secret = $2`,
			r.id, r.stored, resealed); err != nil {
			return 0, fmt.Errorf("deliveries: seal secret of %s: %w", r.id, err)
		}
	}
	return len(todo), nil
}
