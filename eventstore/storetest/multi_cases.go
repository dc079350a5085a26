package storetest

import (
	"errors"
	"testing"

	"github.com/cardledger/cardledger/eventstore"
)

// multi is the store's MultiAppender; the case is skipped for an adapter
// without one, since the interface is optional.
func multi(t *testing.T, f *fixture) eventstore.MultiAppender {
	t.Helper()
	m, ok := f.Store.(eventstore.MultiAppender)
	if !ok {
		t.Skip("store does not implement eventstore.MultiAppender")
	}
	return m
}

func testAppendManyWritesEveryStream(t *testing.T, f *fixture) {
	m := multi(t, f)
	existing := f.stream("existing")
	f.mustAppend(t, existing, eventstore.NoStream(), newEvents(2, "Before"))
	appends := []eventstore.StreamAppend{
		{Stream: f.stream("new-b"), Expected: eventstore.NoStream(), Events: newEvents(2, "B")},
		{Stream: existing, Expected: eventstore.Exact(1), Events: newEvents(3, "After")},
		{Stream: f.stream("new-a"), Expected: eventstore.Any(), Events: newEvents(1, "A")},
	}
	results, err := m.AppendMany(f.ctx, appends)
	if err != nil {
		t.Fatalf("AppendMany: %v", err)
	}
	if len(results) != len(appends) {
		t.Fatalf("%d results, want %d", len(results), len(appends))
	}
	wantLast := []uint64{1, 4, 0}
	for i, a := range appends {
		events := wantChained(t, f, a.Stream)
		last := events[len(events)-1]
		want := eventstore.AppendResult{Revision: wantLast[i], Position: last.Position}
		if results[i] != want {
			t.Errorf("result %d (%s) = %+v, want %+v", i, a.Stream, results[i], want)
		}
		tail := events[len(events)-len(a.Events):]
		for j, e := range tail {
			if e.ID != a.Events[j].ID {
				t.Errorf("%s revision %d has id %s, want %s", a.Stream, e.Revision, e.ID, a.Events[j].ID)
			}
		}
	}

	again, err := m.AppendMany(f.ctx, appends)
	if err != nil {
		t.Fatalf("retried AppendMany: %v", err)
	}
	for i := range appends {
		want := results[i]
		want.Retried = again[i].Retried || eventstore.ReportsRetry(f.Store, appends[i].Expected)
		if again[i] != want {
			t.Errorf("retry result %d = %+v, want the original, retried: %+v", i, again[i], want)
		}
	}
	if events := f.mustReadStream(t, existing, 0, 0); len(events) != 5 {
		t.Errorf("after the retry %s has %d events, want 5", existing, len(events))
	}
}

func testAppendManyIsAllOrNothing(t *testing.T, f *fixture) {
	m := multi(t, f)
	taken := f.stream("taken")
	f.mustAppend(t, taken, eventstore.NoStream(), newEvents(1, "Before"))
	fresh := []string{f.stream("fresh-1"), f.stream("fresh-2")}
	_, err := m.AppendMany(f.ctx, []eventstore.StreamAppend{
		{Stream: fresh[0], Expected: eventstore.NoStream(), Events: newEvents(2, "New")},
		{Stream: taken, Expected: eventstore.NoStream(), Events: newEvents(2, "New")},
		{Stream: fresh[1], Expected: eventstore.NoStream(), Events: newEvents(2, "New")},
	})
	var wrong *eventstore.WrongRevisionError
	if !errors.Is(err, eventstore.ErrWrongRevision) || !errors.As(err, &wrong) {
		t.Fatalf("AppendMany with a taken stream: %v, want *WrongRevisionError", err)
	}
	if wrong.Stream != taken || !wrong.ActualExists || wrong.Actual != 0 {
		t.Errorf("error names %s at %d (exists %v), want %s at 0", wrong.Stream, wrong.Actual, wrong.ActualExists, taken)
	}
	for _, s := range fresh {
		if _, err := f.ReadStream(f.ctx, s, 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("ReadStream(%s) after the failed AppendMany: %v, want ErrStreamNotFound", s, err)
		}
	}
	if events := f.mustReadStream(t, taken, 0, 0); len(events) != 1 {
		t.Errorf("%s has %d events, want 1", taken, len(events))
	}
}

func testAppendManyRefusesAStreamTwice(t *testing.T, f *fixture) {
	m := multi(t, f)
	s := f.stream("twice")
	_, err := m.AppendMany(f.ctx, []eventstore.StreamAppend{
		{Stream: s, Expected: eventstore.Any(), Events: newEvents(1, "One")},
		{Stream: s, Expected: eventstore.Any(), Events: newEvents(1, "Two")},
	})
	if err == nil {
		t.Fatal("AppendMany with a stream twice succeeded")
	}
	if _, err := f.ReadStream(f.ctx, s, 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("ReadStream(%s): %v, want ErrStreamNotFound", s, err)
	}
}
