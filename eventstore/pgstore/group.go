package pgstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"
)

// Group commit: appends that arrive while others are being written are
// written together, each its own appendSQL statement, in one pgx batch,
// which PostgreSQL runs as one implicit transaction: one round trip and one
// commit (one WAL flush) for the group instead of one per append, as
// EventStoreDB's writer batches. An append that finds the store idle goes
// alone, exactly as before.
//
// Every append keeps its single-stream semantics, because each statement
// checks its own expectation and ids and writes nothing when they fail
// (appendSQL): a wrong revision or a retry inside a group is that append's
// answer only, and the others commit. A group never holds two appends to
// one stream (the second waits for the next round), so the statements of a
// group cannot collide with each other; they can collide with a concurrent
// writer of the same stream (another group, AppendMany, another process):
// the unique (stream, revision) then fails one statement, PostgreSQL rolls
// the whole group back, and every append of the group is written again on
// its own, with Append's usual rerun on unique violations. A group whose
// commit fails for any other reason is redone the same way; an append that
// had in fact committed is then recognised by its event ids and answered
// with its original result. So exactly one writer wins each revision, and
// nothing is written twice. Statements run in stream-name order, as
// AppendMany's do, so that groups wait for each other rather than deadlock.
//
// groupWriters bounds how many groups are written at once (each holds a
// pooled connection while it does); maxGroup and maxGroupBytes bound a
// group.
const (
	groupWriters  = 4
	maxGroup      = 64
	maxGroupBytes = 4 << 20
)

var errClosed = errors.New("the event store is closed")

type appendRequest struct {
	ctx      context.Context
	stream   string
	expected eventstore.ExpectedRevision
	events   []eventstore.EventData
	size     int
	done     chan appendAnswer // buffered: a writer never blocks on it
}

type appendAnswer struct {
	res eventstore.AppendResult
	err error
}

// grouper feeds appends to the group writers.
type grouper struct {
	requests chan *appendRequest
	closed   <-chan struct{} // closed by close: nobody takes requests any more
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

func (s *Store) startGrouper() {
	ctx, cancel := context.WithCancel(context.Background())
	g := &grouper{requests: make(chan *appendRequest), closed: ctx.Done(), stop: cancel}
	for range groupWriters {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			s.writeGroups(ctx, g.requests)
		}()
	}
	s.grouper = g
}

func (g *grouper) close() {
	g.stop()
	g.wg.Wait()
}

// appendGrouped hands the append to a group writer and waits for its
// answer. The append is written even if ctx ends after a writer took it
// (as an append whose commit was sent before ctx ended is); the caller
// then gets ctx's error, and a retry with the same event ids gets the
// original result.
func (s *Store) appendGrouped(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	size := 0
	for _, e := range events {
		size += len(e.Data) + len(e.Metadata) + len(e.Type) + 16
	}
	r := &appendRequest{ctx: ctx, stream: stream, expected: expected, events: events, size: size, done: make(chan appendAnswer, 1)}
	select {
	case s.grouper.requests <- r:
	case <-s.grouper.closed:
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, errClosed)
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	}
	select {
	case a := <-r.done:
		return a.res, a.err
	case <-ctx.Done():
		return eventstore.AppendResult{}, ctx.Err()
	}
}

// writeGroups takes an append, adds every append already waiting (one per
// stream, within the bounds) and writes them.
func (s *Store) writeGroups(ctx context.Context, requests chan *appendRequest) {
	var next []*appendRequest // same-stream appends held back from the last group
	for {
		group := next
		next = nil
		if len(group) == 0 {
			select {
			case <-ctx.Done():
				return
			case r := <-requests:
				group = append(group, r)
			}
		}
		streams := map[string]bool{}
		size := 0
		kept := group[:0]
		for _, r := range group {
			if streams[r.stream] {
				next = append(next, r)
				continue
			}
			streams[r.stream], size = true, size+r.size
			kept = append(kept, r)
		}
		group = kept
	fill:
		for len(group) < maxGroup && size < maxGroupBytes {
			select {
			case r := <-requests:
				if streams[r.stream] {
					next = append(next, r)
					continue
				}
				streams[r.stream], size = true, size+r.size
				group = append(group, r)
			default:
				break fill
			}
		}
		s.writeGroup(group)
	}
}

// writeGroup writes a group and answers each of its appends.
func (s *Store) writeGroup(group []*appendRequest) {
	live := make([]*appendRequest, 0, len(group)) // sorted below; the caller's order stays
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- appendAnswer{err: err} // given up before anything was sent
			continue
		}
		live = append(live, r)
	}
	group = live
	switch len(group) {
	case 0:
		return
	case 1:
		r := group[0]
		res, err := s.appendAlone(r.ctx, r.stream, r.expected, r.events)
		r.done <- appendAnswer{res, err}
		return
	}
	slices.SortFunc(group, func(a, b *appendRequest) int { return strings.Compare(a.stream, b.stream) })
	// Not a caller's context: the group is one transaction for all of them.
	ctx := context.Background()
	b := &pgx.Batch{}
	ids := make([][][16]byte, len(group))
	for i, r := range group {
		var args []any
		args, ids[i] = appendArgs(r.stream, r.expected, r.events)
		b.Queue(appendSQL, args...)
	}
	rows := make([]appendRow, len(group))
	br := s.pool.SendBatch(ctx, b)
	var err error
	for i := range group {
		if rows[i], err = scanAppendRow(br.QueryRow()); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Rolled back (or, if the commit's answer was lost, perhaps not):
		// each append again on its own; see the comment at the top.
		for _, r := range group {
			res, err := s.appendAlone(r.ctx, r.stream, r.expected, r.events)
			r.done <- appendAnswer{res, err}
		}
		return
	}
	s.notifier.appended()
	for i, r := range group {
		res, err := rows[i].outcome(r.ctx, s.pool, r.stream, r.expected, ids[i])
		r.done <- appendAnswer{res, err}
	}
}
