package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/esdbstore/esdbdouble"
)

// giveUp is longer than the v4 client's own retries with its defaults
// (10 discovery attempts 100 ms apart, each refused at once here): after
// an outage this long the client has closed itself for good.
const giveUp = 2500 * time.Millisecond

func startCluster(t *testing.T) *esdbdouble.Cluster {
	t.Helper()
	c, err := esdbdouble.StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// clients counts the clients the store made (its first one included).
func clients(s *Store) int {
	s.link.mu.Lock()
	defer s.link.mu.Unlock()
	return s.link.made
}

// streamIDs reads a whole stream's event ids.
func streamIDs(t *testing.T, s *Store, stream string) []uuid.UUID {
	t.Helper()
	evs, err := s.ReadStream(testCtx(t), stream, 0, 0)
	if err != nil {
		t.Fatalf("read %s: %v", stream, err)
	}
	return recordedIDs(evs)
}

// TestAdapterRecoversAfterAnOutageLongerThanTheClientsRetries: the server
// is gone until the client has given up; while it is gone calls fail as
// unavailable within the retry bound, and once it is back the same Store
// serves again with a new client, without being reopened.
func TestAdapterRecoversAfterAnOutageLongerThanTheClientsRetries(t *testing.T) {
	srv := startDouble(t)
	s := openDouble(t, srv)
	s.retryFor = 300 * time.Millisecond
	ctx := testCtx(t)
	if _, err := s.Append(ctx, "s", eventstore.NoStream(), newEvents(1)); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := s.Append(ctx, "s", eventstore.Exact(0), newEvents(1)); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("append while down: %v, want ErrUnavailable", err)
	}
	time.Sleep(giveUp)
	if _, err := s.ReadStream(ctx, "s", 0, 0); !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("read while down: %v, want ErrUnavailable", err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	s.retryFor = defaultRetryFor
	evs := newEvents(2)
	if _, err := s.Append(ctx, "s", eventstore.Exact(0), evs); err != nil {
		t.Fatalf("append after the server came back: %v", err)
	}
	if got := streamIDs(t, s, "s"); len(got) != 3 || got[1] != evs[0].ID || got[2] != evs[1].ID {
		t.Fatalf("stream = %v, want the first event and %v", got, recordedIDs(nil))
	}
	if clients(s) == 1 {
		t.Fatal("the client was never replaced: the outage did not outlast the client's retries, so this test proves nothing")
	}
}

// TestCallsDuringAnOutageReturnWithinTheirContext: many calls fail while
// the client runs (and loses) a discovery. The v4 client blocks such a call
// for good on its dead connection goroutine; the Store must still answer
// each caller by its context, and serve again after.
func TestCallsDuringAnOutageReturnWithinTheirContext(t *testing.T) {
	srv := startDouble(t)
	s := openDouble(t, srv)
	if _, err := s.Append(testCtx(t), "warm", eventstore.NoStream(), newEvents(1)); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	srv.Stop()
	const callers, timeout = 16, 700 * time.Millisecond
	stop := time.Now().Add(giveUp)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		slow []string
	)
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				began := time.Now()
				_, err := s.Append(ctx, fmt.Sprintf("c-%d", i), eventstore.Any(), newEvents(1))
				cancel()
				if took := time.Since(began); took > timeout+500*time.Millisecond {
					mu.Lock()
					slow = append(slow, fmt.Sprintf("caller %d: %v after %v", i, err, took))
					mu.Unlock()
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(giveUp + 5*time.Second):
		t.Fatal("callers still blocked long after their contexts ended")
	}
	if len(slow) > 0 {
		t.Fatalf("calls outlived their context: %v", slow)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(testCtx(t), "after", eventstore.NoStream(), newEvents(1)); err != nil {
		t.Fatalf("append after the outage: %v", err)
	}
	// Calls waiting on a discovery that fails are lost for good; the store
	// lets one call at a time wait on a suspect client, so few are.
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine()-before >= callers && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if grown := runtime.NumGoroutine() - before; grown >= callers {
		t.Errorf("%d more goroutines than before the outage: calls are piling up in dead clients", grown)
	}
}

// TestAppendWhoseReplyIsLostLandsOnce: the server writes the append but
// the answer is lost; the adapter resends it and reports the one write.
func TestAppendWhoseReplyIsLostLandsOnce(t *testing.T) {
	for _, idempotent := range []bool{true, false} {
		t.Run(fmt.Sprintf("server recognises resends: %v", idempotent), func(t *testing.T) {
			srv, err := esdbdouble.StartWith(esdbdouble.Options{NoIdempotence: !idempotent})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Stop)
			s := openDouble(t, srv)
			ctx := testCtx(t)
			first := newEvents(1)
			if _, err := s.Append(ctx, "s", eventstore.NoStream(), first); err != nil {
				t.Fatal(err)
			}
			for _, expected := range []eventstore.ExpectedRevision{eventstore.Exact(0), eventstore.Any()} {
				srv.LoseAppendReplies(1)
				evs := newEvents(2)
				res, err := s.Append(ctx, "s", expected, evs)
				if err != nil {
					t.Fatalf("append (%v) with its reply lost: %v", expected, err)
				}
				got, err := s.ReadStream(ctx, "s", res.Revision, 1)
				if err != nil || len(got) != 1 || got[0].ID != evs[1].ID || got[0].Position != res.Position {
					t.Fatalf("result %+v does not name the last event written: %v, %v", res, got, err)
				}
			}
			if got := streamIDs(t, s, "s"); len(got) != 5 {
				t.Fatalf("stream holds %d events, want 5: each append once", len(got))
			}
		})
	}
}

// TestAppendsDuringLeaderChangesLandExactlyOnce: writers append through the
// cluster connection string while the leadership moves round the nodes,
// the node losing it answers "not leader", some replies are lost after the
// write and a node is briefly not ready. Every append must succeed, and
// every stream must hold each append once, in order.
func TestAppendsDuringLeaderChangesLandExactlyOnce(t *testing.T) {
	c := startCluster(t)
	s := openURL(t, c.URL())
	ctx := testCtx(t)
	const writers, appends = 4, 40
	var wg sync.WaitGroup
	want := make([][]uuid.UUID, writers)
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			expected := eventstore.NoStream()
			for range appends {
				evs := newEvents(2)
				res, err := s.Append(ctx, fmt.Sprintf("w-%d", w), expected, evs)
				if err != nil {
					errs <- err
					return
				}
				expected = eventstore.Exact(res.Revision)
				want[w] = append(want[w], evs[0].ID, evs[1].ID)
				time.Sleep(5 * time.Millisecond) // let the leadership move between appends too
			}
		}()
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()
	// A second of elections every 40 ms (a real one takes seconds); the
	// appends still running after it must land too.
	for round := 1; round <= 25; round++ {
		select {
		case <-writersDone:
		case <-time.After(40 * time.Millisecond):
			old := c.Leader()
			c.SetLeader(round % len(c.Nodes))
			for _, n := range c.Nodes {
				n.LoseAppendReplies(1)
			}
			if round%4 == 0 {
				old.SetUnavailable(true)
				time.Sleep(20 * time.Millisecond)
				old.SetUnavailable(false)
			}
			continue
		}
		break
	}
	<-writersDone
	close(errs)
	for err := range errs {
		t.Errorf("append during leader changes: %v", err)
	}
	var met esdbdouble.FaultCounts
	for _, n := range c.Nodes {
		f := n.Faults()
		met.NotLeader += f.NotLeader
		met.LostReplies += f.LostReplies
		met.Unavailable += f.Unavailable
	}
	if met.NotLeader == 0 || met.LostReplies == 0 {
		t.Fatalf("faults met: %+v; the appends never met a leader change or a lost reply", met)
	}
	t.Logf("faults met: %+v", met)
	for w := range writers {
		if got := streamIDs(t, s, fmt.Sprintf("w-%d", w)); !slices.Equal(got, want[w]) {
			t.Errorf("stream w-%d holds %d events, want the %d appended, each once in order", w, len(got), len(want[w]))
		}
	}
	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	if err != nil || len(all) != writers*appends*2 {
		t.Fatalf("$all holds %d events (%v), want %d", len(all), err, writers*appends*2)
	}
}

// TestSubscriptionAcrossAnOutageDeliversEveryEventOnceInOrder: the server
// goes away for longer than the client's retries, with events before and
// after; the subscription resumes from the last event it handled.
func TestSubscriptionAcrossAnOutageDeliversEveryEventOnceInOrder(t *testing.T) {
	srv := startDouble(t)
	s := openDouble(t, srv)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var (
		mu  sync.Mutex
		got []uuid.UUID
	)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	done := make(chan error, 1)
	go func() {
		done <- s.SubscribeAll(ctx, eventstore.Start, func(e eventstore.RecordedEvent) error {
			mu.Lock()
			got = append(got, e.ID)
			mu.Unlock()
			return nil
		})
	}()
	var want []uuid.UUID
	appendSome := func(stream string) {
		t.Helper()
		evs := newEvents(3)
		if _, err := s.Append(ctx, stream, eventstore.NoStream(), evs); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			want = append(want, e.ID)
		}
	}
	appendSome("before-1")
	appendSome("before-2")
	waitUntil(t, func() bool { return count() >= len(want) })
	srv.Stop()
	time.Sleep(giveUp)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	appendSome("after-1")
	appendSome("after-2")
	waitUntil(t, func() bool { return count() >= len(want) })
	time.Sleep(200 * time.Millisecond) // room for duplicates
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("SubscribeAll = %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %v, want each of %v once, in order", got, want)
	}
	if clients(s) == 1 {
		t.Fatal("the client was never replaced: the outage did not outlast the client's retries")
	}
}

// TestSubscriptionFollowsTheLeader: a subscription through the cluster
// string survives its node leaving the leadership and going unavailable.
func TestSubscriptionFollowsTheLeader(t *testing.T) {
	c := startCluster(t)
	s := openURL(t, c.URL())
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var (
		mu  sync.Mutex
		got []uuid.UUID
	)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	done := make(chan error, 1)
	go func() {
		done <- s.SubscribeAll(ctx, eventstore.Start, func(e eventstore.RecordedEvent) error {
			mu.Lock()
			got = append(got, e.ID)
			mu.Unlock()
			return nil
		})
	}()
	var (
		want []uuid.UUID
		down *esdbdouble.Server
	)
	for round := range 4 {
		evs := newEvents(2)
		if _, err := s.Append(ctx, fmt.Sprintf("r-%d", round), eventstore.NoStream(), evs); err != nil {
			t.Fatal(err)
		}
		want = append(want, evs[0].ID, evs[1].ID)
		waitUntil(t, func() bool { return count() >= len(want) })
		if down != nil {
			down.SetUnavailable(false)
		}
		down = c.Leader()
		c.SetLeader((round + 1) % len(c.Nodes))
		down.SetUnavailable(true) // drops its subscriptions
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %d events, want each of %d once, in order", len(got), len(want))
	}
}

// TestLeaderCrashFailsOverThroughGossip: the leader's process dies and
// another node is elected; the client finds it through the gossip of the
// nodes still up, appends resume and the subscription goes on from where
// it was.
func TestLeaderCrashFailsOverThroughGossip(t *testing.T) {
	c := startCluster(t)
	s := openURL(t, c.URL())
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var (
		mu  sync.Mutex
		got []uuid.UUID
	)
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	done := make(chan error, 1)
	go func() {
		done <- s.SubscribeAll(ctx, eventstore.Start, func(e eventstore.RecordedEvent) error {
			mu.Lock()
			got = append(got, e.ID)
			mu.Unlock()
			return nil
		})
	}()
	first := newEvents(2)
	res, err := s.Append(ctx, "s", eventstore.NoStream(), first)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return count() >= 2 })
	crashed := c.Leader()
	crashed.Stop()
	c.SetLeader(2)
	second := newEvents(2)
	if _, err := s.Append(ctx, "s", eventstore.Exact(res.Revision), second); err != nil {
		t.Fatalf("append after the leader crashed: %v", err)
	}
	want := []uuid.UUID{first[0].ID, first[1].ID, second[0].ID, second[1].ID}
	if ids := streamIDs(t, s, "s"); !slices.Equal(ids, want) {
		t.Fatalf("stream = %v, want %v", ids, want)
	}
	waitUntil(t, func() bool { return count() >= len(want) })
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("subscription delivered %v, want %v once, in order", got, want)
	}
}

// TestReadsAloneMoveOffACrashedNode: a process that only reads (a read
// API) must leave a dead node too. The client does not act on read errors
// (upstream issue #190), and its connection would redial the dead node
// for good; the store replaces the client, which finds the new leader.
func TestReadsAloneMoveOffACrashedNode(t *testing.T) {
	c := startCluster(t)
	s := openURL(t, c.URL())
	ctx := testCtx(t)
	evs := newEvents(1)
	if _, err := s.Append(ctx, "s", eventstore.NoStream(), evs); err != nil {
		t.Fatal(err)
	}
	c.Leader().Stop()
	c.SetLeader(1)
	// Let the connection find the node gone and start backing off: the
	// read then fails before the client sees it.
	time.Sleep(500 * time.Millisecond)
	got, err := s.ReadStream(ctx, "s", 0, 0)
	if err != nil || len(got) != 1 || got[0].ID != evs[0].ID {
		t.Fatalf("read after the node crashed: %v, %v", recordedIDs(got), err)
	}
	if _, ok, err := s.Head(ctx); err != nil || !ok {
		t.Fatalf("head after the node crashed: %v, %v", ok, err)
	}
}
