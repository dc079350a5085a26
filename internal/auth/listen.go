package auth

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sirupsen/logrus"
)

// listenRetry is the pause before reconnecting a failed listener.
const listenRetry = 2 * time.Second

// Listen makes revocations take effect at once: it LISTENs on
// RevocationChannel over its own connection (made from connConfig) and
// empties the credential cache on every revocation, and on every
// (re)connect, since a notification may have been missed meanwhile. It
// returns when ctx ends. Without it a revoked credential keeps working for
// up to the cache TTL.
func (a *Authenticator) Listen(ctx context.Context, connConfig *pgx.ConnConfig, log logrus.FieldLogger) {
	for ctx.Err() == nil {
		err := a.listenOnce(ctx, connConfig)
		if ctx.Err() != nil {
			return
		}
		log.WithError(err).Warn("api clients: revocation listener failed; reconnecting")
		select {
		case <-ctx.Done():
		case <-time.After(listenRetry):
		}
	}
}

func (a *Authenticator) listenOnce(ctx context.Context, connConfig *pgx.ConnConfig) error {
	conn, err := pgx.ConnectConfig(ctx, connConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+RevocationChannel); err != nil {
		return err
	}
	a.forgetAll()
	for {
		// The cache is keyed by credential, not name: emptying it costs one
		// lookup per active client, and revocations are rare.
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		a.forgetAll()
	}
}

// Forget empties the credential cache at once: for the process that
// changed a credential itself, which need not wait for the notification.
func (a *Authenticator) Forget() { a.forgetAll() }

func (a *Authenticator) forgetAll() {
	a.mu.Lock()
	a.cache = map[string]cached{}
	a.gen++
	a.mu.Unlock()
}
