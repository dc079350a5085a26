package projections_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

// selective uses only events of type "Used" and counts how it was called.
type selective struct {
	mu       sync.Mutex
	cp       eventstore.Position
	applied  []string // types handed to Apply
	advances int
}

func (s *selective) Name() string { return "selective" }

func (s *selective) Checkpoint(context.Context) (eventstore.Position, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp, nil
}

func (s *selective) Apply(_ context.Context, batch []eventstore.RecordedEvent) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range batch {
		s.applied = append(s.applied, e.Type)
	}
	s.cp = batch[len(batch)-1].Position
	return nil
}

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
	p.mu.Lock()
	p.applied, p.advances = nil, 0
	p.mu.Unlock()

	var last eventstore.Position
	for range 3 {
		last = appendOne("Unused")
		if err := r.WaitFor(ctx, last); err != nil {
			t.Fatal(err)
		}
	}
	p.mu.Lock()
	applied, advances := len(p.applied), p.advances
	p.mu.Unlock()
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
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.applied) == 0 || p.applied[len(p.applied)-1] != "Used" {
		t.Fatalf("Apply got %v, want the used event", p.applied)
	}
}
