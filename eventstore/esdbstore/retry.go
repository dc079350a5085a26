package esdbstore

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// defaultRetryFor bounds how long one operation retries while the server
// is unreachable, has no leader or changes leader, when the caller's
// context allows that long: an election takes seconds, and a caller (an
// HTTP request) should hear "unavailable" rather than wait for good.
const defaultRetryFor = 10 * time.Second

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
		var g *generation
		v, g, err = call(ctx, s.link, func(c *esdb.Client) (T, error) { return op(ctx, c) })
		if errors.Is(err, errClosed) {
			return v, attempts, err
		}
		if err == nil || ctx.Err() != nil || !transient(err) {
			return v, attempts, err
		}
		if s.link.isClosed() {
			return v, attempts, errClosed
		}
		if needsNewClient(err) {
			if rerr := s.link.replace(g); rerr != nil {
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
		if hasCode(err, esdb.ErrorCodeNotLeader) {
			// The client has already moved to the leader the node named:
			// retry at once, however long the outage before was.
			backoff = minBackoff
			continue
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
	// another node; they end Canceled although their context did not, or,
	// for an append still sending, with a bare EOF: gRPC keeps the reason
	// for the receive the client then skips. A server refusing an append
	// early (MaxAppendSize below the port's) gives the same EOF, and is
	// then retried in vain until the retry bound.
	return status.Code(err) == codes.Canceled || errors.Is(err, io.EOF)
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

// needsNewClient: the client gave up (dead), or a call failed in a way the
// client does not act on. A read whose stream cannot be opened returns the
// bare gRPC error without the client noticing (upstream issue #190), so it
// neither rediscovers the cluster nor reconnects; its gRPC connection only
// redials on its own backoff, which reaches two minutes. A new client
// discovers the cluster (or the node) afresh on its first call.
func needsNewClient(err error) bool {
	if dead(err) {
		return true
	}
	var e *esdb.Error
	return !errors.As(err, &e) && status.Code(err) == codes.Unavailable
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
