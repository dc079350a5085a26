package piistore

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sirupsen/logrus"
)

// ErasureChannel is the PostgreSQL NOTIFY channel on which Erase announces,
// at commit, each subject whose data keys it deleted.
const ErasureChannel = "cardledger_pii_erased"

// listenRetry is the pause before the listener reconnects.
const listenRetry = time.Second

// Listen keeps the keyring's cache free of keys that another process
// erased, until ctx ends: each erasure anywhere drops the subject's keys
// here at once. Without it, a key this process has cached stays usable
// for the cache age (KeyringOptions.CacheTTL) after another process erased
// it, when this one reads a stream that does not hold the erasure event
// (a batch's member list). Each (re)connection first empties the cache,
// since erasures while nobody listened are unknown.
func (k *Keyring) Listen(ctx context.Context, log logrus.FieldLogger) {
	for ctx.Err() == nil {
		err := k.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		log.WithError(err).Warn("personal data keys: erasure listener failed; reconnecting")
		select {
		case <-ctx.Done():
		case <-time.After(listenRetry):
		}
	}
}

// OnErasure has f told of every erasure Listen learns of, with the
// subject whose keys were erased, and called with "" when Listen
// (re)connects, since erasures while nobody listened are unknown: for
// what holds personal data opened outside the keyring (the commands'
// stream cache), so that it lives no longer than the keys here. Call it
// before Listen.
func (k *Keyring) OnErasure(f func(subject string)) {
	k.onErasure = append(k.onErasure, f)
}

func (k *Keyring) erased(subject string) {
	for _, f := range k.onErasure {
		f(subject)
	}
}

func (k *Keyring) listenOnce(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, k.pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+ErasureChannel); err != nil {
		return err
	}
	k.cache.clear()
	k.erased("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		k.cache.forget(n.Payload)
		k.erased(n.Payload)
	}
}
