package projections_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// countingStore is the real store, counting the reads of $all the runner
// makes.
type countingStore struct {
	eventstore.Store
	subscribes, readAlls atomic.Int64
}

func (s *countingStore) SubscribeAll(ctx context.Context, after eventstore.Position, handle func(eventstore.RecordedEvent) error) error {
	s.subscribes.Add(1)
	return s.Store.SubscribeAll(ctx, after, handle)
}

func (s *countingStore) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	s.readAlls.Add(1)
	return s.Store.ReadAll(ctx, after, limit)
}

// recorder is a projection kept in memory: it counts how often each
// position was stored and can be made slow.
type recorder struct {
	name  string
	pause time.Duration // per Apply

	mu      sync.Mutex
	cp      eventstore.Position
	applied map[eventstore.Position]int
	order   []eventstore.Position
}

func newRecorder(name string, pause time.Duration) *recorder {
	return &recorder{name: name, pause: pause, applied: map[eventstore.Position]int{}}
}

func (p *recorder) Name() string { return p.name }

func (p *recorder) Checkpoint(context.Context) (eventstore.Position, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cp, nil
}

func (p *recorder) Apply(_ context.Context, batch []eventstore.RecordedEvent) error {
	time.Sleep(p.pause)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ev := range batch {
		if !p.cp.Less(ev.Position) {
			continue
		}
		p.applied[ev.Position]++
		p.order = append(p.order, ev.Position)
		p.cp = ev.Position
	}
	return nil
}

// check fails the test unless p stored exactly want, each once, in order.
func (p *recorder) check(t *testing.T, want []eventstore.Position) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.order) != len(want) {
		t.Fatalf("%s stored %d events, want %d", p.name, len(p.order), len(want))
	}
	for i, pos := range want {
		if p.order[i] != pos || p.applied[pos] != 1 {
			t.Fatalf("%s: event %d is %s stored %d times, want %s once", p.name, i, p.order[i], p.applied[pos], pos)
		}
	}
}

// appendRaw appends n events of a type no projection knows to one stream
// and returns their positions.
func (e *env) appendRaw(t *testing.T, stream string, n int) []eventstore.Position {
	t.Helper()
	data := make([]eventstore.EventData, n)
	for i := range data {
		data[i] = eventstore.EventData{ID: uuid.New(), Type: "test.Ticked", Data: []byte(`{}`), Metadata: []byte(`{}`)}
	}
	res, err := e.store.Append(context.Background(), stream, eventstore.Any(), data)
	if err != nil {
		t.Fatal(err)
	}
	e.noteAppended(res.Position)
	events, err := e.store.ReadStream(context.Background(), stream, res.Revision+1-uint64(n), n)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]eventstore.Position, len(events))
	for i, ev := range events {
		out[i] = ev.Position
	}
	return out
}

// Every projection of a runner is fed by one live subscription to $all, and
// each still stores every event exactly once.
func TestProjectionsShareOneLiveSubscription(t *testing.T) {
	e := newEnv(t)
	store := &countingStore{Store: e.store}
	recs := []*recorder{newRecorder("rec-a", 0), newRecorder("rec-b", 0), newRecorder("rec-c", 0)}
	r := projections.NewRunner(store, e.pool, e.log).
		WithOptions(projections.Options{LockPoll: 50 * time.Millisecond, Retry: 50 * time.Millisecond}).
		Add(readmodel.All(e.pool)...).Add(recs[0], recs[1], recs[2])
	e.start(t, r)
	var want []eventstore.Position
	for round := range 5 {
		want = append(want, e.appendRaw(t, fmt.Sprintf("ticks-%d", round), 3)...)
		e.waitVisible(t, want[len(want)-1])
		e.waitCaughtUp(t, r)
	}
	for _, rec := range recs {
		rec.check(t, want)
	}
	if n := store.subscribes.Load(); n != 1 {
		t.Fatalf("%d live subscriptions to $all for 4 projections, want 1", n)
	}
}

// A projection too slow for its buffer leaves the shared subscription,
// catches up alone and rejoins, storing every event once; the others keep
// the subscription.
func TestSlowProjectionCatchesUpAloneAndRejoins(t *testing.T) {
	e := newEnv(t)
	store := &countingStore{Store: e.store}
	slow, fast := newRecorder("slow", 20*time.Millisecond), newRecorder("fast", 0)
	// The slow one's MaxBatch 1 gives it a buffer of two events, which one
	// append of 40 overflows.
	r := projections.NewRunner(store, e.pool, e.log).
		WithOptions(projections.Options{LockPoll: 50 * time.Millisecond, Retry: 50 * time.Millisecond}).
		Add(fast).
		AddWithOptions(projections.Options{MaxBatch: 1, PageSize: 7, LockPoll: 50 * time.Millisecond, Retry: 50 * time.Millisecond}, slow)
	e.start(t, r)
	first := e.appendRaw(t, "warm-up", 1)
	e.waitVisible(t, first[0])
	e.waitCaughtUp(t, r)
	readsBefore := store.readAlls.Load()
	want := first
	for round := range 3 {
		want = append(want, e.appendRaw(t, fmt.Sprintf("burst-%d", round), 40)...)
	}
	e.waitVisible(t, want[len(want)-1])
	e.waitCaughtUp(t, r)
	slow.check(t, want)
	fast.check(t, want)
	if store.readAlls.Load() == readsBefore {
		t.Fatal("the slow projection never caught up alone: no ReadAll after the warm-up")
	}
	if n := store.subscribes.Load(); n != 1 {
		t.Fatalf("%d live subscriptions, want 1 (the fast projection keeps it)", n)
	}
}
