package esdbstore

import (
	"context"
	"errors"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// DefaultRetryFor bounds how long one operation retries while the server
// is unreachable, has no leader or changes leader, when the caller's
// context allows that long: an election takes seconds, and a caller (an
// HTTP request) should hear "unavailable" rather than wait for good.
const DefaultRetryFor = 10 * time.Second

// Retry backoff, for operations and resubscriptions alike.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// retry runs op on the current client until it succeeds, fails in a way
// retrying cannot fix, ctx ends or s.retryFor has passed; it replaces a
// dead client on the way. attempts tells the caller whether op may have
// taken effect on an earlier attempt whose answer was lost. op must be
// safe to repeat: reads are; appends are because they resend the same
// event ids at the same exact revision.
func retry[T any](ctx context.Context, s *Store, op func(context.Context, *esdb.Client) (T, error)) (v T, attempts int, err error) {
	ctx = s.leaderRequired(ctx)
	giveUp := time.Now().Add(s.retryFor)
	backoff := minBackoff
	for {
		attempts++
		c, gen, err := s.link.current()
		if err != nil {
			return v, attempts, err
		}
		v, err = call(ctx, c, func(c *esdb.Client) (T, error) { return op(ctx, c) })
		if err == nil || ctx.Err() != nil || !transient(err) {
			return v, attempts, err
		}
		if s.link.isClosed() {
			return v, attempts, errClosed
		}
		if dead(err) {
			if rerr := s.link.replace(gen); rerr != nil {
				return v, attempts, rerr
			}
		}
		if time.Now().Add(backoff).After(giveUp) {
			return v, attempts, err
		}
		select {
		case <-ctx.Done():
			return v, attempts, err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// transient: the server could not take the call now but may soon (down,
// not ready, no leader or another leader, an answer lost or timed out), or
// the client gave up and must be replaced.
func transient(err error) bool {
	if unreachable(err) {
		return true
	}
	// The client closes a connection under running calls when it moves to
	// another node; they end Canceled although their context did not.
	return status.Code(err) == codes.Canceled
}

// dead: the client is closed for good (it failed a discovery) or was closed
// under the call; only a new client serves again.
func dead(err error) bool {
	var p clientPanic
	if errors.As(err, &p) {
		return p.closedUnder()
	}
	return hasCode(err, esdb.ErrorCodeConnectionClosed)
}

// leaderRequired sends the "requires-leader" header when the connection
// string prefers the leader (the default). The v4 client means to send it
// then but puts it in the incoming metadata of the call's context, which
// gRPC never sends (esdb/options.go), so a node that lost the leadership
// would go on serving this client's reads, stale ones included. With the
// header it answers "not leader" with the leader's endpoint, the client
// reconnects there, and retry repeats the call.
func (s *Store) leaderRequired(ctx context.Context) context.Context {
	if !s.leaderOnly {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "requires-leader", "true")
}
