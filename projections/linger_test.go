package projections_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

// batches records the live batches it is handed, as their event types.
type batches struct {
	mu  sync.Mutex
	cp  eventstore.Position
	got [][]string
}

func (b *batches) Name() string { return "batches" }

func (b *batches) Checkpoint(context.Context) (eventstore.Position, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cp, nil
}

func (b *batches) Apply(_ context.Context, batch []eventstore.RecordedEvent) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var types []string
	for _, e := range batch {
		types = append(types, e.Type)
	}
	b.got = append(b.got, types)
	b.cp = batch[len(batch)-1].Position
	return nil
}

func (b *batches) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = nil
}

func (b *batches) batches() [][]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.got)
}

// lingerEnv runs a batches projection with the given Linger and
// LingerIdle, live after a first event; appendOne adds one event.
func lingerEnv(t *testing.T, linger, idle time.Duration) (r *projections.Runner, p *batches, appendOne func(typ string) eventstore.Position) {
	e := newEnv(t)
	p = &batches{}
	r = projections.NewRunner(e.store, e.pool, e.log).
		WithOptions(projections.Options{Linger: linger, LingerIdle: idle,
			LockPoll: 20 * time.Millisecond, Retry: 20 * time.Millisecond}).
		Add(p)
	appendOne = func(typ string) eventstore.Position {
		res, err := e.store.Append(context.Background(), "linger-"+uuid.NewString(), eventstore.NoStream(),
			[]eventstore.EventData{{ID: uuid.New(), Type: typ, Data: []byte(`{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	e.start(t, r)
	// The first event may come in catch-up's page, or live after the idle
	// gap; either way the runner is live once it is applied.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, appendOne("Warm")); err != nil {
		t.Fatal(err)
	}
	p.reset()
	return r, p, appendOne
}

// With a linger of a minute, a lone live event is applied once LingerIdle
// passed without a second: a quiet system does not wait out the linger.
func TestLoneLiveEventWaitsOnlyTheIdleGap(t *testing.T) {
	r, p, appendOne := lingerEnv(t, time.Minute, 20*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, appendOne("Lone")); err != nil {
		t.Fatalf("a lone event with a 1 minute linger and a 20 ms idle gap: %v", err)
	}
	if got, want := fmt.Sprint(p.batches()), "[[Lone]]"; got != want {
		t.Fatalf("batches %s, want %s", got, want)
	}
}

// Once a second event came within LingerIdle, events keep coming and the
// batch waits out the whole linger: an event after the idle gap but within
// the linger joins it.
func TestBatchWithASecondEventWaitsTheWholeLinger(t *testing.T) {
	r, p, appendOne := lingerEnv(t, 3*time.Second, time.Second)
	appendOne("E0")
	time.Sleep(200 * time.Millisecond)
	appendOne("E1")
	time.Sleep(1300 * time.Millisecond) // past the idle gap, within the linger
	last := appendOne("E2")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(p.batches()), "[[E0 E1 E2]]"; got != want {
		t.Fatalf("batches %s, want %s", got, want)
	}
}
