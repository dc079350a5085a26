package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
)

// visibleWithin is how long $all reads wait for events an append reported.
const visibleWithin = 10 * time.Second

// fixture is one case's view of a store: its stream prefix and the Head of
// $all when it began.
type fixture struct {
	eventstore.Store
	ctx    context.Context
	prefix string
	head   eventstore.Position
}

func newFixture(ctx context.Context, t *testing.T, s eventstore.Store) *fixture {
	t.Helper()
	f := &fixture{Store: s, ctx: ctx, prefix: "st" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12] + "-"}
	h, ok, err := s.Head(ctx)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	if ok {
		f.head = h.Position
	}
	return f
}

// stream names one of the case's own streams.
func (f *fixture) stream(name string) string { return f.prefix + name }

func (f *fixture) own(e eventstore.RecordedEvent) bool { return strings.HasPrefix(e.Stream, f.prefix) }

// newEvents makes n events with fresh ids and distinct JSON bodies.
func newEvents(n int, typ string) []eventstore.EventData {
	events := make([]eventstore.EventData, n)
	for i := range events {
		id := uuid.New()
		events[i] = eventstore.EventData{
			ID:       id,
			Type:     typ,
			Data:     fmt.Appendf(nil, `{"n":%d,"id":"%s"}`, i, id),
			Metadata: []byte(`{"by":"storetest"}`),
		}
	}
	return events
}

func (f *fixture) mustAppend(t *testing.T, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) eventstore.AppendResult {
	t.Helper()
	res, err := f.Append(f.ctx, stream, expected, events)
	if err != nil {
		t.Fatalf("Append(%s, %s, %d events): %v", stream, expected, len(events), err)
	}
	return res
}

func (f *fixture) mustReadStream(t *testing.T, stream string, from uint64, limit int) []eventstore.RecordedEvent {
	t.Helper()
	events, err := f.ReadStream(f.ctx, stream, from, limit)
	if err != nil {
		t.Fatalf("ReadStream(%s, %d, %d): %v", stream, from, limit, err)
	}
	return events
}

// ownAll reads $all after position after in pages of pageSize and returns
// the case's own events, up to and including the one at position until. It
// polls while until is not visible yet.
func (f *fixture) ownAll(t *testing.T, after, until eventstore.Position, pageSize int) []eventstore.RecordedEvent {
	t.Helper()
	deadline := time.Now().Add(visibleWithin)
	var own []eventstore.RecordedEvent
	for after.Less(until) {
		page, err := f.ReadAll(f.ctx, after, pageSize)
		if err != nil {
			t.Fatalf("ReadAll(%s, %d): %v", after, pageSize, err)
		}
		if len(page) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("ReadAll: position %s not visible within %s (read up to %s)", until, visibleWithin, after)
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if pageSize > 0 && len(page) > pageSize {
			t.Fatalf("ReadAll(%s, %d) returned %d events", after, pageSize, len(page))
		}
		for _, e := range page {
			if !after.Less(e.Position) {
				t.Fatalf("ReadAll(%s) returned event at %s, not after it", after, e.Position)
			}
			after = e.Position
			if f.own(e) && !until.Less(e.Position) {
				own = append(own, e)
			}
		}
	}
	return own
}

// wantWrongRevision checks err is a *WrongRevisionError naming the stream's
// actual state.
func wantWrongRevision(t *testing.T, err error, stream string, expected eventstore.ExpectedRevision, actual uint64, exists bool) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrWrongRevision) {
		t.Fatalf("err = %v, want ErrWrongRevision", err)
	}
	var wre *eventstore.WrongRevisionError
	if !errors.As(err, &wre) {
		t.Fatalf("err = %v (%T), want a *WrongRevisionError", err, err)
	}
	want := eventstore.WrongRevisionError{Stream: stream, Expected: expected, Actual: actual, ActualExists: exists}
	if *wre != want {
		t.Fatalf("WrongRevisionError = %+v, want %+v", *wre, want)
	}
}

type streamRev struct {
	stream   string
	revision uint64
	id       uuid.UUID
}

func streamRevs(events []eventstore.RecordedEvent) []streamRev {
	out := make([]streamRev, len(events))
	for i, e := range events {
		out[i] = streamRev{e.Stream, e.Revision, e.ID}
	}
	return out
}

func ids(events []eventstore.RecordedEvent) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}

func dataIDs(events []eventstore.EventData) []uuid.UUID {
	out := make([]uuid.UUID, len(events))
	for i, e := range events {
		out[i] = e.ID
	}
	return out
}
