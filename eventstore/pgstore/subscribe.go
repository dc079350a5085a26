package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
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

// tailKeep is how many of the newest events the shared tail keeps for
// subscribers that are a little behind; one further behind reads stored
// pages itself until it is within them. A variable for tests.
var tailKeep = 4096

// errStoreClosed ends the subscriptions of a closed store.
var errStoreClosed = errors.New("pgstore: store closed")

// Why one reader per store: every projection, the outbox and the notifier
// of a process follow $all live. With a reader each, every append's
// notification woke all of them and each read the same new events (one
// query each, with the horizon's look at pg_stat_activity under load), and
// each held a LISTEN connection. The store's tail is the one live reader:
// it follows $all from the head it found when it started and keeps the
// newest events; a subscription at or after the tail's start takes events
// from it, and one behind reads stored pages until it gets there. Both come
// from the same visible log, which only grows at its end (visibility.go),
// so switching from pages to the tail neither skips nor repeats an event.

// SubscribeAll delivers every event after position after, in position
// order, each exactly once: stored events in batches, then new ones as they
// become visible, from the store's shared tail. The tail LISTENs for
// appends on a dedicated connection; its poll covers notifications that
// arrive before their events are visible and a lost listener connection.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position, handle func(eventstore.RecordedEvent) error) error {
	if err := s.tail.join(s); err != nil {
		return fmt.Errorf("subscribe $all after %s: %w", after, err)
	}
	defer s.tail.leave()
	for {
		events, changed, covered, err := s.tail.after(after)
		if err != nil {
			return fmt.Errorf("subscribe $all after %s: %w", after, err)
		}
		if !covered {
			if events, err = readAll(ctx, s.pool, after, subscribeBatch); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("subscribe $all after %s: %w", after, err)
			}
		}
		for _, e := range events {
			if err := handle(e); err != nil {
				return fmt.Errorf("subscribe $all at %s: %w", e.Position, err)
			}
			after = e.Position
		}
		if len(events) > 0 {
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// tail is a store's one live reader of $all, running while the store has
// subscriptions.
type tail struct {
	mu     sync.Mutex
	subs   int
	run    *tailRun // the running reader; nil when none
	closed bool
	// started: base is set. buf holds every event after base, in order.
	started bool
	base    eventstore.Position
	buf     []eventstore.RecordedEvent
	// changed is closed (and replaced) when buf grows, the reader starts,
	// or it stops (then err says why).
	changed chan struct{}
	err     error
}

// tailRun is one run of the reader; a run that was replaced changes nothing.
type tailRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// join counts a subscription in and starts the reader if none runs.
func (t *tail) join(s *Store) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return errStoreClosed
	}
	t.subs++
	if t.run == nil {
		ctx, cancel := context.WithCancel(context.Background())
		r := &tailRun{cancel: cancel, done: make(chan struct{})}
		t.run, t.started, t.buf, t.err = r, false, nil, nil
		t.wakeLocked()
		go func() {
			defer close(r.done)
			err := t.follow(ctx, s, r)
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.run == r {
				t.run, t.started, t.buf, t.err = nil, false, nil, err
				t.wakeLocked()
			}
		}()
	}
	return nil
}

// leave counts a subscription out and stops the reader after the last one.
func (t *tail) leave() {
	t.mu.Lock()
	t.subs--
	r := t.run
	if t.subs > 0 || r == nil {
		t.mu.Unlock()
		return
	}
	t.run, t.started, t.buf = nil, false, nil
	t.mu.Unlock()
	r.cancel()
	<-r.done
}

// close stops the reader for good; subscriptions still running fail.
func (t *tail) close() {
	t.mu.Lock()
	r := t.run
	t.closed, t.run, t.started, t.buf, t.err = true, nil, false, nil, errStoreClosed
	t.wakeLocked()
	t.mu.Unlock()
	if r != nil {
		r.cancel()
		<-r.done
	}
}

func (t *tail) wakeLocked() {
	if t.changed != nil {
		close(t.changed)
	}
	t.changed = make(chan struct{})
}

// after answers the kept events after pos and, when there are none yet, a
// channel closed at the next change. covered is false while pos is before
// the kept events (or the reader has not started): the caller reads stored
// pages then. The events are shared: callers must not modify them.
func (t *tail) after(pos eventstore.Position) (events []eventstore.RecordedEvent, changed <-chan struct{}, covered bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.run == nil && t.err != nil {
		return nil, nil, false, t.err
	}
	if !t.started || pos.Less(t.base) {
		return nil, t.changed, false, nil
	}
	i := sort.Search(len(t.buf), func(i int) bool { return pos.Less(t.buf[i].Position) })
	// buf is only ever appended to or replaced, so the slice stays valid.
	return t.buf[i:len(t.buf):len(t.buf)], t.changed, true, nil
}

// follow is the reader: it starts at the visible head and keeps every new
// event until ctx ends or a read fails.
func (t *tail) follow(ctx context.Context, s *Store, r *tailRun) error {
	// Listen before the first read, so no append between that read and the
	// LISTEN goes unnoticed.
	wake, stop, err := s.listen(ctx)
	if err != nil {
		return err
	}
	defer stop()
	head, _, err := s.Head(ctx)
	if err != nil {
		return err
	}
	after := head.Position
	t.publish(r, after, nil)

	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	var retry time.Duration // > 0 after a notification, see notifiedRetry
	for {
		events, err := readAll(ctx, s.pool, after, subscribeBatch)
		if err != nil {
			return fmt.Errorf("read $all after %s: %w", after, err)
		}
		if len(events) > 0 {
			t.publish(r, after, events)
			after = events[len(events)-1].Position
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

// publish keeps events read after from (the start's head when events is
// nil) and wakes the subscriptions.
func (t *tail) publish(r *tailRun, from eventstore.Position, events []eventstore.RecordedEvent) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.run != r {
		return
	}
	if !t.started {
		t.started, t.base = true, from
	}
	t.buf = append(t.buf, events...)
	if len(t.buf) > 2*tailKeep {
		drop := len(t.buf) - tailKeep
		t.base = t.buf[drop-1].Position
		t.buf = append([]eventstore.RecordedEvent(nil), t.buf[drop:]...)
	}
	t.wakeLocked()
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
