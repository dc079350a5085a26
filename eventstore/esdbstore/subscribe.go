package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cardledger/cardledger/eventstore"
)

// SubscribeAll calls handle for every application event after position
// after, catching up and then following live. A dropped subscription is
// reopened from the last event handled (never from the end, the client's
// default), so each event is handled once, in order; while the server is
// down or has no leader it retries with backoff and, when the client gave
// up, with a new client. It returns only when ctx ends, handle fails, the
// store is closed or the server refuses the credentials.
func (s *Store) SubscribeAll(ctx context.Context, after eventstore.Position, handle func(eventstore.RecordedEvent) error) error {
	backoff := minBackoff
	for {
		delivered, err := s.subscribeOnce(ctx, &after, handle)
		var failed handlerError
		if errors.As(err, &failed) {
			return fmt.Errorf("subscribe $all: handle event: %w", failed.error)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("subscribe $all: %w", ctx.Err())
		}
		if s.link.isClosed() {
			return fmt.Errorf("subscribe $all: %w", errClosed)
		}
		if permanent(err) {
			return opError(ctx, "subscribe $all", err)
		}
		if delivered {
			backoff = minBackoff
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("subscribe $all: %w", ctx.Err())
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// handlerError marks an error returned by the caller's handler, which ends
// the subscription instead of reopening it.
type handlerError struct{ error }

// subscribeOnce runs one server subscription until it drops, advancing
// *after past every event handled. delivered reports whether it got any
// event at all, which resets the backoff.
func (s *Store) subscribeOnce(ctx context.Context, after *eventstore.Position, handle func(eventstore.RecordedEvent) error) (delivered bool, err error) {
	// Subscribing may report to the client's connection goroutine, so it
	// goes through call; receiving does not, and is safe after the client
	// is closed (it then ends with an error).
	opts := esdb.SubscribeToAllOptions{
		From:   allFrom(*after), // never nil: the client's default is End
		Filter: esdb.ExcludeSystemEventsFilter(),
	}
	sub, g, err := call(ctx, s.link, func(c *esdb.Client) (*esdb.Subscription, error) {
		return c.SubscribeToAll(s.leaderRequired(ctx), opts)
	})
	if g != nil && needsNewClient(err) && !s.link.isClosed() {
		return false, s.link.replace(g)
	}
	if err != nil {
		return false, err
	}
	defer sub.Close()
	for {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return delivered, ev.SubscriptionDropped.Error
		case ev.EventAppeared != nil:
			e := ev.EventAppeared.OriginalEvent()
			if e == nil {
				continue
			}
			delivered = true
			p := position(e.Position)
			if !after.Less(p) || isSystem(e) {
				continue
			}
			if err := handle(recorded(e)); err != nil {
				return delivered, handlerError{err}
			}
			*after = p
		}
	}
}

// permanent reports errors that resubscribing cannot fix. A closed client
// is not one of them unless the store itself is closed: the link replaces
// it.
func permanent(err error) bool {
	return errors.Is(err, errClosed) || hasCode(err, esdb.ErrorCodeUnauthenticated) || hasCode(err, esdb.ErrorCodeAccessDenied)
}
