package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
)

// sizedEvents makes n events whose AppendSize is exactly total, with JSON
// data and metadata, spreading the padding over the events.
func sizedEvents(t *testing.T, n, total int) []eventstore.EventData {
	t.Helper()
	events := make([]eventstore.EventData, n)
	fixed := 0
	for i := range events {
		events[i] = eventstore.EventData{ID: uuid.New(), Type: "Sized", Data: []byte(`{"p":""}`),
			Metadata: []byte(`{"by":"storetest"}`)}
		fixed += eventstore.EventSize(events[i])
	}
	pad := total - fixed
	if pad < 0 {
		t.Fatalf("%d events cannot be as small as %d bytes", n, total)
	}
	for i := range events {
		share := pad / n
		if i < pad%n {
			share++
		}
		events[i].Data = fmt.Appendf(nil, `{"p":"%s"}`, strings.Repeat("x", share))
	}
	if got := eventstore.AppendSize(events); got != total {
		t.Fatalf("sizedEvents: AppendSize %d, want %d", got, total)
	}
	return events
}

// wantTooLarge checks err is an *AppendTooLargeError for stream and size.
func wantTooLarge(t *testing.T, err error, stream string, size int) {
	t.Helper()
	if !errors.Is(err, eventstore.ErrAppendTooLarge) {
		t.Fatalf("err = %v, want ErrAppendTooLarge", err)
	}
	var tl *eventstore.AppendTooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v (%T), want an *AppendTooLargeError", err, err)
	}
	want := eventstore.AppendTooLargeError{Stream: stream, Size: size, Max: eventstore.MaxAppendSize}
	if *tl != want {
		t.Fatalf("AppendTooLargeError = %+v, want %+v", *tl, want)
	}
}

func testAppendAtMaxSize(t *testing.T, f *fixture) {
	// The largest append the port allows must pass every adapter, its own
	// envelope included: one event, and many small ones.
	for _, n := range []int{1, 3, 1000} {
		t.Run(fmt.Sprintf("%d events", n), func(t *testing.T) {
			stream := f.stream(fmt.Sprintf("max-%d", n))
			sent := sizedEvents(t, n, eventstore.MaxAppendSize)
			f.mustAppend(t, stream, eventstore.NoStream(), sent)
			got := f.mustReadStream(t, stream, 0, 0)
			if len(got) != n {
				t.Fatalf("read %d events, want %d", len(got), n)
			}
			for i, e := range got {
				if e.ID != sent[i].ID || !bytes.Equal(e.Data, sent[i].Data) || !bytes.Equal(e.Metadata, sent[i].Metadata) {
					t.Fatalf("event %d differs from the one sent", i)
				}
			}
		})
	}
}

func testAppendOverMaxSize(t *testing.T, f *fixture) {
	tests := []struct {
		name     string
		existing int
		expected eventstore.ExpectedRevision
		n        int
	}{
		{"one event on a new stream", 0, eventstore.NoStream(), 1},
		{"many events on a new stream", 0, eventstore.Any(), 3000},
		{"many events on an existing stream", 2, eventstore.Exact(1), 3},
		{"stream_exists", 2, eventstore.StreamExists(), 2},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream := f.stream("over-" + string(rune('a'+i)))
			if tc.existing > 0 {
				f.mustAppend(t, stream, eventstore.NoStream(), newEvents(tc.existing, "Before"))
			}
			size := eventstore.MaxAppendSize + 1
			_, err := f.Append(f.ctx, stream, tc.expected, sizedEvents(t, tc.n, size))
			wantTooLarge(t, err, stream, size)
			got, err := f.ReadStream(f.ctx, stream, 0, 0)
			if tc.existing == 0 {
				if !errors.Is(err, eventstore.ErrStreamNotFound) {
					t.Fatalf("after the refusal the stream has %d events, err %v; want ErrStreamNotFound", len(got), err)
				}
				return
			}
			if err != nil || len(got) != tc.existing {
				t.Fatalf("after the refusal the stream has %d events, err %v; want %d", len(got), err, tc.existing)
			}
		})
	}
}

func testAppendManyPartOverMaxSize(t *testing.T, f *fixture) {
	m := multi(t, f)
	small, large := f.stream("small"), f.stream("large")
	size := eventstore.MaxAppendSize + 1
	_, err := m.AppendMany(f.ctx, []eventstore.StreamAppend{
		{Stream: small, Expected: eventstore.NoStream(), Events: newEvents(1, "Small")},
		{Stream: large, Expected: eventstore.NoStream(), Events: sizedEvents(t, 2, size)},
	})
	wantTooLarge(t, err, large, size)
	for _, s := range []string{small, large} {
		if got, err := f.ReadStream(f.ctx, s, 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("%s after the refusal: %d events, err %v; want ErrStreamNotFound", s, len(got), err)
		}
	}
	// Parts that each fit are fine even if together they do not.
	parts := []eventstore.StreamAppend{
		{Stream: f.stream("fit-a"), Expected: eventstore.NoStream(), Events: sizedEvents(t, 2, eventstore.MaxAppendSize)},
		{Stream: f.stream("fit-b"), Expected: eventstore.NoStream(), Events: sizedEvents(t, 2, eventstore.MaxAppendSize)},
	}
	if _, err := m.AppendMany(f.ctx, parts); err != nil {
		t.Fatalf("AppendMany of two parts at the maximum: %v", err)
	}
}

func testDuplicateIDInAnotherStream(t *testing.T, f *fixture) {
	u, ok := f.Store.(eventstore.UniqueEventIDs)
	if !ok || !u.UniqueEventIDs() {
		t.Skip("event ids are not unique store-wide in this store")
	}
	first, second := f.stream("first"), f.stream("second")
	stored := newEvents(1, "Once")
	f.mustAppend(t, first, eventstore.NoStream(), stored)
	again := append(newEvents(1, "Fresh"), stored[0])
	_, err := f.Append(f.ctx, second, eventstore.NoStream(), again)
	if !errors.Is(err, eventstore.ErrDuplicateEventID) {
		t.Fatalf("append of an id stored in %s: %v, want ErrDuplicateEventID", first, err)
	}
	if got, err := f.ReadStream(f.ctx, second, 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("%s after the refusal: %d events, err %v; want ErrStreamNotFound", second, len(got), err)
	}
}
