package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

// link owns the client: it is the one place that creates, replaces and
// closes it. The v4 client gives up for good when a discovery fails (its
// connection goroutine exits and every later call answers "connection is
// closed"), so after an outage longer than its own discovery attempts only
// a new client serves again; replace makes it, once per dead client, however
// many calls noticed.
//
// A client is closed only when no call is inside it: the client sends on a
// channel that Close closes, so closing it under a running call panics the
// call (and is a data race). A retired client is closed by the last call
// to leave it.
type link struct {
	conf esdb.Configuration // each client gets its own copy

	mu     sync.Mutex
	cur    *generation
	closed bool
	made   int // clients made so far, for tests
}

// generation is one client and the calls inside it; link.mu guards it.
type generation struct {
	client  *esdb.Client
	inside  int  // calls running in the client now
	retired bool // replaced, or the store closed: close once empty
	// suspect: the last call failed as unreachable (or the client is new
	// after a failure). Then one call at a time goes in (probe) and the
	// others are told errReconnecting at once: every call that waits on a
	// discovery that fails is lost for good (see call), so only one may.
	suspect bool
	probe   bool
}

// errReconnecting answers a call while another one probes a suspect client.
var errReconnecting = errors.New("esdbstore: reconnecting to the server")

func newLink(conf *esdb.Configuration) (*link, error) {
	l := &link{conf: *conf}
	c, err := l.newClient()
	if err != nil {
		return nil, err
	}
	l.cur = &generation{client: c}
	return l, nil
}

func (l *link) newClient() (*esdb.Client, error) {
	conf := l.conf
	c, err := esdb.NewClient(&conf)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: new client: %w", err)
	}
	l.made++
	return c, nil
}

// enter admits a call into the current client; the call must leave, and
// its caller settle.
func (l *link) enter() (g *generation, probe bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, false, errClosed
	}
	g = l.cur
	if g.suspect {
		if g.probe {
			return nil, false, errReconnecting
		}
		g.probe, probe = true, true
	}
	g.inside++
	return g, probe, nil
}

// settle records what the caller of a call in g learnt: an answer from the
// server clears suspicion, an unreachable server raises it, and a caller
// that left on its own context learnt nothing.
func (l *link) settle(g *generation, probe bool, err error, ctxDone bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if probe {
		g.probe = false
	}
	switch {
	case ctxDone:
	case err != nil && transient(err):
		g.suspect = true
	default:
		g.suspect = false
	}
}

// leave ends a call in g, closing g's client if it is retired and empty.
func (l *link) leave(g *generation) {
	l.mu.Lock()
	defer l.mu.Unlock()
	g.inside--
	l.closeIfDone(g)
}

func (l *link) closeIfDone(g *generation) {
	if g.retired && g.inside == 0 && g.client != nil {
		_ = g.client.Close()
		g.client = nil
	}
}

// replace swaps g's client, found dead or deaf, for a new one; a later
// generation is left alone (another call replaced it already). The new
// client connects on its first call.
func (l *link) replace(g *generation) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosed
	}
	if g != l.cur {
		return nil
	}
	c, err := l.newClient()
	if err != nil {
		return err
	}
	l.cur = &generation{client: c, suspect: true}
	g.retired = true
	l.closeIfDone(g)
	return nil
}

// close retires the client for good; it is closed once no call is inside.
// Calls still running end with their own error, and callers waiting on them
// by their context.
func (l *link) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.cur.retired = true
	l.closeIfDone(l.cur)
	return nil
}

func (l *link) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// call runs op in the current client, in a goroutine of its own, and
// returns its result, or ctx's error as soon as ctx ends. The v4 client
// needs this: a call reports to the client's connection goroutine on an
// unbuffered channel, and that goroutine exits when a discovery fails, so a
// call made or failing during a discovery that then fails blocks forever,
// whatever its context. Such a call stays inside its client, which is
// therefore never closed, and its goroutine is lost; its caller is not.
func call[T any](ctx context.Context, l *link, op func(*esdb.Client) (T, error)) (T, *generation, error) {
	var zero T
	g, probe, err := l.enter()
	if err != nil {
		return zero, nil, err
	}
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer l.leave(g)
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: clientPanic{r}}
			}
		}()
		v, err := op(g.client)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		l.settle(g, probe, r.err, ctx.Err() != nil)
		return r.v, g, r.err
	case <-ctx.Done():
		l.settle(g, probe, nil, true)
		return zero, g, ctx.Err()
	}
}

// clientPanic is a panic of the client recovered by call: the client
// panics on replies it does not know, and a bug here could close a client
// under a call.
type clientPanic struct{ value any }

func (p clientPanic) Error() string { return fmt.Sprintf("esdb client panicked: %v", p.value) }

// closedUnder reports a call that ran into its client being closed.
func (p clientPanic) closedUnder() bool {
	return strings.Contains(fmt.Sprint(p.value), "closed channel")
}
