package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"
)

const (
	// subscribeBatch is how many events one catch-up read fetches.
	subscribeBatch = 500
	// pollInterval bounds the delay when a notification is missed or comes
	// before its event is visible to $all (see visibility.go).
	pollInterval = 200 * time.Millisecond
	// notifiedRetry is the first re-read delay when a notification came but
	// nothing new was visible yet (an older transaction of this database
	// still running, or one the horizon could not place); it doubles up to
	// pollInterval, so such events arrive in milliseconds, not a poll later.
	notifiedRetry = 5 * time.Millisecond
)

// SubscribeAll delivers every event after position after, in position
// order, each exactly once: stored events in batches, then new ones as they
// become visible. A dedicated connection LISTENs for appends; the poll
// fallback covers notifications that arrive before their events are visible
// and a lost listener connection.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position, handle func(eventstore.RecordedEvent) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Listen before the first read, so no append between that read and the
	// LISTEN goes unnoticed.
	wake, stop, err := s.listen(ctx)
	if err != nil {
		return fmt.Errorf("subscribe $all after %s: %w", after, err)
	}
	defer stop()

	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	var retry time.Duration // > 0 after a notification, see notifiedRetry
	for {
		events, err := readAll(ctx, s.pool, after, subscribeBatch)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("subscribe $all after %s: %w", after, err)
		}
		for _, e := range events {
			if err := handle(e); err != nil {
				return fmt.Errorf("subscribe $all at %s: %w", e.Position, err)
			}
			after = e.Position
		}
		if len(events) == subscribeBatch {
			continue
		}
		wait := pollInterval
		if retry > 0 {
			if len(events) == 0 {
				wait, retry = retry, 2*retry
			}
			if len(events) > 0 || retry > pollInterval {
				retry = 0
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
			retry = notifiedRetry
		case <-timer.C:
		}
	}
}

// listen opens a connection outside the pool that LISTENs on notifyChannel
// and signals wake (coalesced) on each notification until stop is called.
// If the connection fails, wake simply stops firing and polling carries on.
func (s *Store) listen(ctx context.Context) (wake <-chan struct{}, stop func(), err error) {
	conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		conn.Close(context.Background())
		return nil, nil, fmt.Errorf("listen: %w", err)
	}
	ch := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := conn.WaitForNotification(ctx); err != nil {
				return
			}
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	stop = func() {
		cancel()
		<-done
		closeCtx, cancelClose := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancelClose()
		conn.Close(closeCtx)
	}
	return ch, stop, nil
}
