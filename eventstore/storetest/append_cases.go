package storetest

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
)

func testRoundTrip(t *testing.T, f *fixture) {
	stream := f.stream("card-1")
	sent := []eventstore.EventData{
		{ID: uuid.New(), Type: "CardIssued", Data: []byte(`{"card_no":"D12345678","name":"张三",  "city":"深圳"}`), Metadata: []byte(`{"causation":"c-1","operator":"窗口01"}`)},
		{ID: uuid.New(), Type: "card.pin-reset.v2", Data: []byte("{\n  \"z\": 1,\n  \"a\": [1, 2.50, \"\\u00e9\"]\n}"), Metadata: nil},
		{ID: uuid.New(), Type: "CardPhotoAttached", Data: []byte(`{"photo":"` + strings.Repeat("QUJD", 16<<10) + `"}`), Metadata: []byte(`{}`)},
	}
	before := time.Now()
	res := f.mustAppend(t, stream, eventstore.NoStream(), sent)
	after := time.Now()

	got := f.mustReadStream(t, stream, 0, 0)
	if len(got) != len(sent) {
		t.Fatalf("read %d events, want %d", len(got), len(sent))
	}
	for i, e := range got {
		w := sent[i]
		if e.Stream != stream || e.Revision != uint64(i) || e.ID != w.ID || e.Type != w.Type {
			t.Errorf("event %d = {%s %d %s %s}, want {%s %d %s %s}", i, e.Stream, e.Revision, e.ID, e.Type, stream, i, w.ID, w.Type)
		}
		if !bytes.Equal(e.Data, w.Data) {
			t.Errorf("event %d data = %.80q, want %.80q", i, e.Data, w.Data)
		}
		if !bytes.Equal(e.Metadata, w.Metadata) {
			t.Errorf("event %d metadata = %q, want %q", i, e.Metadata, w.Metadata)
		}
		// Allow for clock skew between test and a remote server.
		if e.RecordedAt.Before(before.Add(-time.Minute)) || e.RecordedAt.After(after.Add(time.Minute)) {
			t.Errorf("event %d recorded at %s, want about %s", i, e.RecordedAt, before)
		}
	}
	want := eventstore.AppendResult{Revision: 2, Position: got[2].Position}
	if res != want {
		t.Errorf("AppendResult = %+v, want %+v (the last event)", res, want)
	}
	all := f.ownAll(t, f.head, res.Position, 0)
	if !slices.EqualFunc(all, got, func(a, b eventstore.RecordedEvent) bool {
		return a.ID == b.ID && a.Position == b.Position && bytes.Equal(a.Data, b.Data) && bytes.Equal(a.Metadata, b.Metadata) && a.RecordedAt.Equal(b.RecordedAt)
	}) {
		t.Errorf("$all gives %v, want the stream's events %v", streamRevs(all), streamRevs(got))
	}
}

func testRevisionsFromZero(t *testing.T, f *fixture) {
	stream := f.stream("card-1")
	var results []uint64
	for _, n := range []int{1, 2, 3} {
		results = append(results, f.mustAppend(t, stream, eventstore.Any(), newEvents(n, "Counted")).Revision)
	}
	if want := []uint64{0, 2, 5}; !slices.Equal(results, want) {
		t.Errorf("append revisions = %v, want %v", results, want)
	}
	got := f.mustReadStream(t, stream, 0, 0)
	for i, e := range got {
		if e.Revision != uint64(i) {
			t.Fatalf("event %d has revision %d", i, e.Revision)
		}
	}
	if len(got) != 6 {
		t.Errorf("read %d events, want 6", len(got))
	}
}

func testExpectedRevision(t *testing.T, f *fixture) {
	tests := []struct {
		name     string
		existing int // events in the stream before; 0: no stream
		expected eventstore.ExpectedRevision
		ok       bool
		revision uint64 // on success
		actual   uint64 // on rejection
	}{
		{"any accepts missing stream", 0, eventstore.Any(), true, 0, 0},
		{"any accepts existing stream", 2, eventstore.Any(), true, 2, 0},
		{"no_stream accepts missing stream", 0, eventstore.NoStream(), true, 0, 0},
		{"no_stream rejects existing stream", 2, eventstore.NoStream(), false, 0, 1},
		{"stream_exists accepts existing stream", 2, eventstore.StreamExists(), true, 2, 0},
		{"stream_exists rejects missing stream", 0, eventstore.StreamExists(), false, 0, 0},
		{"exact accepts the last revision", 2, eventstore.Exact(1), true, 2, 0},
		{"exact rejects an older revision", 2, eventstore.Exact(0), false, 0, 1},
		{"exact rejects a newer revision", 2, eventstore.Exact(2), false, 0, 1},
		{"exact rejects missing stream", 0, eventstore.Exact(0), false, 0, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream := f.stream("card-" + string(rune('a'+i)))
			if tc.existing > 0 {
				f.mustAppend(t, stream, eventstore.NoStream(), newEvents(tc.existing, "Before"))
			}
			res, err := f.Append(f.ctx, stream, tc.expected, newEvents(1, "Tried"))
			if tc.ok {
				if err != nil {
					t.Fatalf("Append(%s) on %d events: %v", tc.expected, tc.existing, err)
				}
				if res.Revision != tc.revision {
					t.Errorf("revision = %d, want %d", res.Revision, tc.revision)
				}
			} else {
				wantWrongRevision(t, err, stream, tc.expected, tc.actual, tc.existing > 0)
			}

			wantLen := tc.existing
			if tc.ok {
				wantLen++
			}
			got, err := f.ReadStream(f.ctx, stream, 0, 0)
			if wantLen == 0 {
				if !errors.Is(err, eventstore.ErrStreamNotFound) {
					t.Fatalf("ReadStream after rejected append: %d events, err %v; want ErrStreamNotFound", len(got), err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != wantLen {
				t.Errorf("stream has %d events, want %d", len(got), wantLen)
			}
		})
	}
}

func testIdempotentRetry(t *testing.T, f *fixture) {
	tests := []struct {
		name     string
		existing int
		expected eventstore.ExpectedRevision
	}{
		{"no_stream", 0, eventstore.NoStream()},
		{"exact", 1, eventstore.Exact(0)},
		{"any on a new stream", 0, eventstore.Any()},
		{"any on an existing stream", 1, eventstore.Any()},
		{"stream_exists", 1, eventstore.StreamExists()},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream := f.stream("retry-" + string(rune('a'+i)))
			var before []eventstore.EventData
			if tc.existing > 0 {
				before = newEvents(tc.existing, "Before")
				f.mustAppend(t, stream, eventstore.NoStream(), before)
			}
			events := newEvents(2, "Retried")
			first := f.mustAppend(t, stream, tc.expected, events)
			second, err := f.Append(f.ctx, stream, tc.expected, events)
			if err != nil {
				t.Fatalf("retry: %v", err)
			}
			if first.Retried {
				t.Errorf("first append says Retried: it wrote the events")
			}
			if second.Revision != first.Revision || second.Position != first.Position {
				t.Errorf("retry result = %+v, want the original %+v", second, first)
			}
			if !second.Retried && eventstore.ReportsRetry(f.Store, tc.expected) {
				t.Errorf("retry result = %+v, want Retried (nothing was written)", second)
			}
			got := f.mustReadStream(t, stream, 0, 0)
			if want := append(dataIDs(before), dataIDs(events)...); !slices.Equal(ids(got), want) {
				t.Errorf("stream ids = %v, want %v (written once)", ids(got), want)
			}
		})
	}
}
