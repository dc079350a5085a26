package projections

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"
)

// NotifyChannel is the PostgreSQL channel PostgreSQL projections notify (in
// their apply transaction, so the notification is sent at commit) to wake
// waiters in every process, not only the one running the projection.
const NotifyChannel = "cardledger_projections"

// signal wakes every waiter at once: waiters take the current channel, fire
// closes it and installs a fresh one.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}

func (s *signal) fire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.ch)
	s.ch = make(chan struct{})
}

// listen fires sig on every notification on NotifyChannel until ctx ends,
// reconnecting after failures. Waiters also poll, so a gap while reconnecting
// only slows them down.
func listen(ctx context.Context, pool *pgxpool.Pool, sig *signal, log logrus.FieldLogger) {
	for ctx.Err() == nil {
		err := listenOnce(ctx, pool, sig)
		if ctx.Err() != nil {
			return
		}
		log.WithError(err).Warn("projections: notification listener failed; reconnecting")
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func listenOnce(ctx context.Context, pool *pgxpool.Pool, sig *signal) error {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		sig.fire()
	}
}
