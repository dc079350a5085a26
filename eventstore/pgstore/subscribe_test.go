package pgstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"
)

// collector is one subscription's delivered events.
type collector struct {
	mu  sync.Mutex
	ids []uuid.UUID
}

func (c *collector) add(e eventstore.RecordedEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ids = append(c.ids, e.ID)
}

func (c *collector) got() []uuid.UUID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

func appendN(t *testing.T, s *Store, stream string, n int) []uuid.UUID {
	t.Helper()
	var ids []uuid.UUID
	for i := range n {
		e := event("Tested")
		if _, err := s.Append(t.Context(), fmt.Sprintf("%s-%d", stream, i), eventstore.NoStream(), []eventstore.EventData{e}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	return ids
}

func waitIDs(t *testing.T, c *collector, want []uuid.UUID) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got := c.got(); len(got) >= len(want) {
			if !slices.Equal(got, want) {
				t.Fatalf("delivered %d events, not the %d appended in order (first difference at %d)", len(got), len(want), firstDiff(got, want))
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("delivered %d of %d events", len(c.got()), len(want))
}

func firstDiff(a, b []uuid.UUID) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// Every subscription of a store follows $all through one reader: one LISTEN
// connection however many subscribe (each used to have its own, and each
// read every new event).
func TestSubscriptionsShareOneLiveReader(t *testing.T) {
	s, url := openTest(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	before := appendN(t, s, "before", 3)
	subs := make([]*collector, 4)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i := range subs {
		subs[i] = &collector{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = s.SubscribeAll(ctx, eventstore.Start, func(e eventstore.RecordedEvent) error { subs[i].add(e); return nil })
		}()
	}
	want := append(before, appendN(t, s, "live", 5)...)
	for _, c := range subs {
		waitIDs(t, c, want)
	}

	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var listeners int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&listeners); err != nil {
		t.Fatal(err)
	}
	if listeners != 1 {
		t.Errorf("%d LISTEN connections for 4 subscriptions, want 1 shared", listeners)
	}
}

// A subscription that falls further behind than the tail keeps reads the
// events it missed from the table, then takes the tail's again: nothing
// skipped, nothing twice. Another keeps up meanwhile.
func TestSlowSubscriptionBehindTheTailMissesNothing(t *testing.T) {
	old := tailKeep
	tailKeep = 4
	defer func() { tailKeep = old }()
	s, _ := openTest(t)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()

	fast, slow := &collector{}, &collector{}
	release := make(chan struct{})
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = s.SubscribeAll(ctx, eventstore.Start, func(e eventstore.RecordedEvent) error { fast.add(e); return nil })
	}()
	go func() {
		defer wg.Done()
		_ = s.SubscribeAll(ctx, eventstore.Start, func(e eventstore.RecordedEvent) error {
			slow.add(e)
			if len(slow.got()) == 1 {
				<-release // held after its first event while the tail moves on
			}
			return nil
		})
	}()
	want := appendN(t, s, "a", 1)
	waitIDs(t, fast, want)
	want = append(want, appendN(t, s, "b", 5*tailKeep)...)
	waitIDs(t, fast, want)
	close(release)
	waitIDs(t, slow, want)
	want = append(want, appendN(t, s, "c", 3)...)
	waitIDs(t, slow, want)
	waitIDs(t, fast, want)
}
