package projections_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

// selective records its batches as batches does (linger_test.go), uses
// only events of type "Used" and counts its Advance calls.
type selective struct {
	batches
	advances int
}

func (s *selective) Name() string { return "selective" }

// applied are the types handed to Apply since the last reset.
func (s *selective) applied() []string { return slices.Concat(s.batches.batches()...) }

func (s *selective) Uses(e eventstore.RecordedEvent) bool { return e.Type == "Used" }

func (s *selective) Advance(_ context.Context, to eventstore.Position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advances++
	if s.cp.Less(to) {
		s.cp = to
	}
	return nil
}

// A live batch holding no event a Selective projection uses only advances
// its checkpoint (one statement for the PostgreSQL ones), never Apply; a
// batch holding one is applied whole.
func TestLiveBatchOfUnusedEventsOnlyAdvancesTheCheckpoint(t *testing.T) {
	e := newEnv(t)
	p := &selective{}
	r := projections.NewRunner(e.store, e.pool, e.log).
		WithOptions(projections.Options{LockPoll: 20 * time.Millisecond, Retry: 20 * time.Millisecond}).
		Add(p)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	appendOne := func(typ string) eventstore.Position {
		res, err := e.store.Append(ctx, "sel-"+uuid.NewString(), eventstore.NoStream(),
			[]eventstore.EventData{{ID: uuid.New(), Type: typ, Data: []byte(`{}`)}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Position
	}
	e.start(t, r)
	// The first event may come in catch-up's page; the runner is live once
	// it is applied.
	if err := r.WaitFor(ctx, appendOne("Unused")); err != nil {
		t.Fatal(err)
	}
	p.reset()
	p.mu.Lock()
	p.advances = 0
	p.mu.Unlock()

	var last eventstore.Position
	for range 3 {
		last = appendOne("Unused")
		if err := r.WaitFor(ctx, last); err != nil {
			t.Fatal(err)
		}
	}
	p.mu.Lock()
	advances := p.advances
	p.mu.Unlock()
	applied := len(p.applied())
	if applied != 0 || advances == 0 {
		t.Fatalf("unused events: Apply got %d events, Advance called %d times; want 0 and at least 1", applied, advances)
	}
	if cp, _ := p.Checkpoint(ctx); cp != last {
		t.Fatalf("checkpoint %s after unused events, want %s", cp, last)
	}

	last = appendOne("Used")
	if err := r.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
	if got := p.applied(); len(got) == 0 || got[len(got)-1] != "Used" {
		t.Fatalf("Apply got %v, want the used event", got)
	}
}
