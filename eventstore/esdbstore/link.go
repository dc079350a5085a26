package esdbstore

import (
	"context"
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
type link struct {
	conf esdb.Configuration // each client gets its own copy

	mu     sync.Mutex
	client *esdb.Client
	gen    uint64 // counts replacements, so a dead client is replaced once
	closed bool
}

func newLink(conf *esdb.Configuration) (*link, error) {
	l := &link{conf: *conf}
	c, err := l.newClient()
	if err != nil {
		return nil, err
	}
	l.client = c
	return l, nil
}

func (l *link) newClient() (*esdb.Client, error) {
	conf := l.conf
	c, err := esdb.NewClient(&conf)
	if err != nil {
		return nil, fmt.Errorf("esdbstore: new client: %w", err)
	}
	return c, nil
}

// current is the client to call now and its generation, for replace.
func (l *link) current() (*esdb.Client, uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, 0, errClosed
	}
	return l.client, l.gen, nil
}

// replace swaps the client of generation gen, found dead, for a new one;
// a later generation is left alone (another call replaced it already).
// The new client connects on its first call. Closing the dead one releases
// calls stuck on it (see call).
func (l *link) replace(gen uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errClosed
	}
	if gen != l.gen {
		return nil
	}
	c, err := l.newClient()
	if err != nil {
		return err
	}
	old := l.client
	l.client, l.gen = c, l.gen+1
	return old.Close()
}

// close closes the client for good; calls running on it end with an error.
func (l *link) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.client.Close()
}

func (l *link) isClosed() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closed
}

// call runs op on c in a goroutine of its own and returns its result, or
// ctx's error as soon as ctx ends. Two traits of the v4 client make this
// necessary: a failing call reports to the client's connection goroutine on
// an unbuffered channel, and that goroutine exits when a discovery fails, so
// a call failing during a discovery that then fails blocks forever, whatever
// its context; and a call reporting on a client closed under it panics
// (send on closed channel). The goroutine recovers that panic, which is
// also what frees stuck calls once link.replace closes their dead client.
func call[T any](ctx context.Context, c *esdb.Client, op func(*esdb.Client) (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: clientPanic{r}}
			}
		}()
		v, err := op(c)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// clientPanic is a panic of the client recovered by call.
type clientPanic struct{ value any }

func (p clientPanic) Error() string { return fmt.Sprintf("esdb client panicked: %v", p.value) }

// closedUnder reports a call that ran into its client being closed.
func (p clientPanic) closedUnder() bool {
	return strings.Contains(fmt.Sprint(p.value), "closed channel")
}
