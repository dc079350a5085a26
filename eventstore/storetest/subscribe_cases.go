package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
)

// deliverWithin bounds how long a subscription may take to deliver what was
// appended; "live" means well under this.
const deliverWithin = 15 * time.Second

// subscription runs SubscribeAll in the background and collects the case's
// own events.
type subscription struct {
	mu     sync.Mutex
	events []eventstore.RecordedEvent
	cancel context.CancelFunc
	done   chan error
}

func (f *fixture) subscribe(t *testing.T, after eventstore.Position) *subscription {
	t.Helper()
	ctx, cancel := context.WithCancel(f.ctx)
	sub := &subscription{cancel: cancel, done: make(chan error, 1)}
	go func() {
		sub.done <- f.SubscribeAll(ctx, after, func(e eventstore.RecordedEvent) error {
			if f.own(e) {
				sub.mu.Lock()
				sub.events = append(sub.events, e)
				sub.mu.Unlock()
			}
			return nil
		})
	}()
	t.Cleanup(func() { sub.stop(t) })
	return sub
}

func (s *subscription) received() []eventstore.RecordedEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.events)
}

// waitFor waits until at least n own events arrived and returns them.
func (s *subscription) waitFor(t *testing.T, n int) []eventstore.RecordedEvent {
	t.Helper()
	deadline := time.Now().Add(deliverWithin)
	for {
		got := s.received()
		if len(got) >= n {
			return got
		}
		select {
		case err := <-s.done:
			t.Fatalf("subscription ended after %d of %d events: %v", len(got), n, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("subscription delivered %d of %d events within %s", len(got), n, deliverWithin)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// stop cancels the subscription and checks it ended with the cancellation.
func (s *subscription) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	select {
	case err := <-s.done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("SubscribeAll ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Errorf("SubscribeAll did not return after its context was cancelled")
	}
}

func testSubscribeCatchUpLive(t *testing.T, f *fixture) {
	const (
		storedStreams, storedPerStream = 4, 10
		writers, appendsPerWriter      = 4, 15
		streamsPerWriter               = 3
	)
	// batchOf maps each event to the append that wrote it, in write order.
	var (
		mu      sync.Mutex
		batchOf = map[uuid.UUID]int{}
		batches [][]uuid.UUID
	)
	record := func(events []eventstore.EventData) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range events {
			batchOf[e.ID] = len(batches)
		}
		batches = append(batches, dataIDs(events))
	}
	for s := range storedStreams {
		for range storedPerStream / 2 {
			events := newEvents(2, "Stored")
			f.mustAppend(t, f.stream("stored-"+string(rune('a'+s))), eventstore.Any(), events)
			record(events)
		}
	}

	sub := f.subscribe(t, f.head)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range appendsPerWriter {
				stream := f.stream("live-" + string(rune('a'+w)) + "-" + string(rune('a'+i%streamsPerWriter)))
				events := newEvents(1+i%3, "Live")
				if _, err := f.Append(f.ctx, stream, eventstore.Any(), events); err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				record(events)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	total := len(batchOf)
	sub.waitFor(t, total)
	time.Sleep(300 * time.Millisecond) // room for duplicates to show up
	got := sub.received()
	sub.stop(t)

	if len(got) != total {
		t.Errorf("delivered %d events, want %d exactly once each", len(got), total)
	}
	seen := map[uuid.UUID]bool{}
	next := map[string]uint64{}
	for i, e := range got {
		if i > 0 && !got[i-1].Position.Less(e.Position) {
			t.Errorf("event %d at %s delivered after %s", i, e.Position, got[i-1].Position)
		}
		if seen[e.ID] {
			t.Errorf("event %s delivered twice", e.ID)
		}
		seen[e.ID] = true
		if _, ok := batchOf[e.ID]; !ok {
			t.Errorf("delivered event %s that no append wrote", e.ID)
		}
		if e.Revision != next[e.Stream] {
			t.Errorf("%s: revision %d delivered, want %d", e.Stream, e.Revision, next[e.Stream])
		}
		next[e.Stream] = e.Revision + 1
	}
	for id := range batchOf {
		if !seen[id] {
			t.Errorf("event %s never delivered", id)
		}
	}
	// An append's events arrive together, in order.
	for i := 0; i < len(got); {
		b := batches[batchOf[got[i].ID]]
		if len(got) < i+len(b) || !slices.Equal(ids(got[i:i+len(b)]), b) {
			t.Errorf("append %v not delivered contiguously at %d", b, i)
			break
		}
		i += len(b)
	}
}

func testSubscribeResume(t *testing.T, f *fixture) {
	stream := f.stream("card-1")
	for range 5 {
		f.mustAppend(t, stream, eventstore.Any(), newEvents(2, "Before"))
	}
	stored := f.mustReadStream(t, stream, 0, 0)
	mid, err := eventstore.ParsePosition(stored[4].Position.String())
	if err != nil {
		t.Fatal(err)
	}
	sub := f.subscribe(t, mid)
	if got := sub.waitFor(t, 5); !slices.Equal(ids(got), ids(stored[5:])) {
		t.Fatalf("resumed with %v, want %v", streamRevs(got), streamRevs(stored[5:]))
	}
	live := newEvents(3, "After")
	f.mustAppend(t, stream, eventstore.Exact(9), live)
	got := sub.waitFor(t, 8)
	if want := append(ids(stored[5:]), dataIDs(live)...); !slices.Equal(ids(got), want) {
		t.Errorf("delivered %v, want %v", ids(got), want)
	}
}

func testSubscribeHandlerError(t *testing.T, f *fixture) {
	errStop := errors.New("projection failed")
	f.mustAppend(t, f.stream("card-1"), eventstore.NoStream(), newEvents(3, "Fails"))
	calls := 0
	ctx, cancel := context.WithTimeout(f.ctx, deliverWithin)
	defer cancel()
	err := f.SubscribeAll(ctx, f.head, func(e eventstore.RecordedEvent) error {
		if !f.own(e) {
			return nil
		}
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) {
		t.Errorf("SubscribeAll = %v, want the handler's error", err)
	}
	if calls != 1 {
		t.Errorf("handler called %d times after failing, want 1", calls)
	}
}

func testSubscribeBacklog(t *testing.T, f *fixture) {
	const total, batch = 2000, 500
	stream := f.stream("backlog")
	var want []uuid.UUID
	for range total / batch {
		events := newEvents(batch, "Backlog")
		f.mustAppend(t, stream, eventstore.Any(), events)
		want = append(want, dataIDs(events)...)
	}
	sub := f.subscribe(t, f.head)
	got := sub.waitFor(t, total)
	if !slices.Equal(ids(got), want) {
		t.Errorf("caught up %d events, want the %d appended in order", len(got), total)
	}
}
