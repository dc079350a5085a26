package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/esdbstore/esdbdouble"
)

func newEvents(n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = eventstore.EventData{ID: uuid.New(), Type: "Test", Data: fmt.Appendf(nil, `{"n":%d}`, i)}
	}
	return out
}

// rawClient is a client of its own on srv, for writing what the adapter
// never writes (deletes, tombstones) and for reading raw errors.
func rawClient(t *testing.T, srv *esdbdouble.Server) *esdb.Client {
	t.Helper()
	conf, err := esdb.ParseConnectionString(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// withSystemEvents writes application events around system ones: a soft
// delete ($metadata in "$$gone") and a tombstone ($streamDeleted).
func withSystemEvents(t *testing.T, srv *esdbdouble.Server, s *Store) (app []uuid.UUID) {
	t.Helper()
	ctx := testCtx(t)
	c := rawClient(t, srv)
	for _, stream := range []string{"gone", "dead", "kept"} {
		evs := newEvents(2)
		if _, err := s.Append(ctx, stream, eventstore.NoStream(), evs); err != nil {
			t.Fatal(err)
		}
		app = append(app, evs[0].ID, evs[1].ID)
	}
	if _, err := c.DeleteStream(ctx, "gone", esdb.DeleteStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TombstoneStream(ctx, "dead", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	return app
}

func recordedIDs(evs []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

func TestReadAllAndHeadSkipSystemEvents(t *testing.T) {
	srv := startDouble(t)
	s := openDouble(t, srv)
	app := withSystemEvents(t, srv, s)
	got, err := s.ReadAll(testCtx(t), eventstore.Start, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recordedIDs(got), app) {
		t.Fatalf("ReadAll = %v, want only the application events %v", recordedIDs(got), app)
	}
	h, ok, err := s.Head(testCtx(t))
	if err != nil || !ok {
		t.Fatalf("Head = %v, %v, %v", h, ok, err)
	}
	if h.Position != got[len(got)-1].Position {
		t.Fatalf("Head at %s, want the last application event at %s, not the tombstone", h.Position, got[len(got)-1].Position)
	}
}

func TestReadAllLimitCountsApplicationEventsOnly(t *testing.T) {
	srv := startDouble(t)
	s := openDouble(t, srv)
	app := withSystemEvents(t, srv, s)
	got, err := s.ReadAll(testCtx(t), eventstore.Start, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recordedIDs(got), app[:5]) {
		t.Fatalf("ReadAll(limit 5) = %v, want %v", recordedIDs(got), app[:5])
	}
}

func TestDeletedStreamsAreNotFound(t *testing.T) {
	srv := startDouble(t)
	s := openDouble(t, srv)
	withSystemEvents(t, srv, s)
	for _, stream := range []string{"gone", "dead"} {
		if _, err := s.ReadStream(testCtx(t), stream, 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("ReadStream(%s) err = %v, want ErrStreamNotFound", stream, err)
		}
	}
}

func TestReadsPageThroughLongLogs(t *testing.T) {
	s := openDouble(t, startDouble(t))
	ctx := testCtx(t)
	const total = 3*pageSize + 7
	var want []uuid.UUID
	expected := eventstore.NoStream()
	for len(want) < total {
		evs := newEvents(min(700, total-len(want)))
		res, err := s.Append(ctx, "long", expected, evs)
		if err != nil {
			t.Fatal(err)
		}
		expected = eventstore.Exact(res.Revision)
		for _, e := range evs {
			want = append(want, e.ID)
		}
	}
	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	if err != nil || !slices.Equal(recordedIDs(all), want) {
		t.Fatalf("ReadAll = %d events, %v; want %d in order", len(all), err, total)
	}
	window, err := s.ReadStream(ctx, "long", pageSize-3, pageSize+10)
	if err != nil || !slices.Equal(recordedIDs(window), want[pageSize-3:2*pageSize+7]) {
		t.Fatalf("ReadStream window = %d events, %v", len(window), err)
	}
	tail, err := s.ReadAll(ctx, all[total-3].Position, 0)
	if err != nil || !slices.Equal(recordedIDs(tail), want[total-2:]) {
		t.Fatalf("ReadAll after the third-last = %v, %v", recordedIDs(tail), err)
	}
}

func TestSubscribeAllSkipsSystemEvents(t *testing.T) {
	srv := startDouble(t)
	s := openDouble(t, srv)
	app := withSystemEvents(t, srv, s)
	ctx, cancel := context.WithCancel(testCtx(t))
	defer cancel()
	var got []uuid.UUID
	err := s.SubscribeAll(ctx, eventstore.Start, func(e eventstore.RecordedEvent) error {
		got = append(got, e.ID)
		if len(got) == len(app) {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("SubscribeAll = %v, want context.Canceled", err)
	}
	if !slices.Equal(got, app) {
		t.Fatalf("delivered %v, want %v", got, app)
	}
}

// TestSubscribeAllResubscribesAfterDrop drops the server side of the
// subscription repeatedly while events are appended: the adapter must
// reopen it from its last event, handing each event over once.
func TestSubscribeAllResubscribesAfterDrop(t *testing.T) {
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
	for round := range 5 {
		evs := newEvents(4)
		if _, err := s.Append(ctx, fmt.Sprintf("s-%d", round), eventstore.NoStream(), evs); err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			want = append(want, e.ID)
		}
		waitUntil(t, func() bool { return count() >= len(want) })
		srv.DropSubscriptions()
	}
	time.Sleep(200 * time.Millisecond) // room for duplicates
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("SubscribeAll = %v, want context.Canceled", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %d events %v, want each of %d once: %v", len(got), got, len(want), want)
	}
}

// TestSubscribeAllEndsWhenStoreCloses also guards against the client's
// panic when it is closed under a running call (run with -race).
func TestSubscribeAllEndsWhenStoreCloses(t *testing.T) {
	s := openDouble(t, startDouble(t))
	done := make(chan error, 1)
	go func() {
		done <- s.SubscribeAll(testCtx(t), eventstore.Start, func(eventstore.RecordedEvent) error { return nil })
	}()
	time.Sleep(100 * time.Millisecond)
	s.Close()
	select {
	case err := <-done:
		if !errors.Is(err, errClosed) {
			t.Fatalf("SubscribeAll after Close = %v, want errClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SubscribeAll still running after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.ReadAll(testCtx(t), eventstore.Start, 0); !errors.Is(err, errClosed) {
		t.Errorf("ReadAll after Close = %v, want errClosed", err)
	}
}

func TestOpenFailsWithoutServer(t *testing.T) {
	srv := startDouble(t)
	url := srv.URL()
	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if s, err := Open(ctx, url); err == nil {
		s.Close()
		t.Fatal("Open succeeded with no server listening")
	}
	if _, err := Open(ctx, "http://nope"); err == nil {
		t.Fatal("Open accepted a URL that is no connection string")
	}
}

func TestAppendRejectsEventsWithoutIDs(t *testing.T) {
	s := openDouble(t, startDouble(t))
	if _, err := s.Append(testCtx(t), "s", eventstore.Any(), nil); err == nil {
		t.Error("Append of no events succeeded")
	}
	if _, err := s.Append(testCtx(t), "s", eventstore.Any(), []eventstore.EventData{{Type: "NoID", Data: []byte(`{}`)}}); err == nil {
		t.Error("Append of an event without id succeeded")
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
