package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cardledger/cardledger/eventstore"
)

func testReadStreamFromLimit(t *testing.T, f *fixture) {
	stream := f.stream("card-1")
	f.mustAppend(t, stream, eventstore.NoStream(), newEvents(10, "Numbered"))
	tests := []struct {
		name  string
		from  uint64
		limit int
		want  []uint64
	}{
		{"all", 0, 0, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}},
		{"negative limit is all", 7, -1, []uint64{7, 8, 9}},
		{"window", 3, 4, []uint64{3, 4, 5, 6}},
		{"limit past the end", 8, 5, []uint64{8, 9}},
		{"last event", 9, 1, []uint64{9}},
		{"from the end", 10, 0, nil},
		{"far past the end", 1000, 3, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := f.mustReadStream(t, stream, tc.from, tc.limit)
			var revs []uint64
			for _, e := range got {
				revs = append(revs, e.Revision)
			}
			if !slices.Equal(revs, tc.want) {
				t.Errorf("ReadStream(from %d, limit %d) revisions = %v, want %v", tc.from, tc.limit, revs, tc.want)
			}
		})
	}
}

func testReadMissingStream(t *testing.T, f *fixture) {
	f.mustAppend(t, f.stream("other"), eventstore.NoStream(), newEvents(1, "Other"))
	for _, from := range []uint64{0, 5} {
		got, err := f.ReadStream(f.ctx, f.stream("missing"), from, 0)
		if !errors.Is(err, eventstore.ErrStreamNotFound) {
			t.Errorf("ReadStream(missing, from %d) = %d events, %v; want ErrStreamNotFound", from, len(got), err)
		}
	}
}

// appendScript writes, in this order: a:3, b:2, a:1, c:4, and returns the
// expected $all order of those events and the last result.
func appendScript(t *testing.T, f *fixture) ([]streamRev, eventstore.AppendResult) {
	t.Helper()
	var (
		want []streamRev
		last eventstore.AppendResult
	)
	next := map[string]uint64{}
	for _, step := range []struct {
		name string
		n    int
	}{{"a", 3}, {"b", 2}, {"a", 1}, {"c", 4}} {
		stream := f.stream(step.name)
		events := newEvents(step.n, "Scripted")
		last = f.mustAppend(t, stream, eventstore.Any(), events)
		for _, e := range events {
			want = append(want, streamRev{stream, next[stream], e.ID})
			next[stream]++
		}
	}
	return want, last
}

func testReadAllOrder(t *testing.T, f *fixture) {
	want, last := appendScript(t, f)
	got := f.ownAll(t, f.head, last.Position, 0)
	if !slices.Equal(streamRevs(got), want) {
		t.Errorf("$all = %v\nwant   %v", streamRevs(got), want)
	}
}

func testReadAllPages(t *testing.T, f *fixture) {
	want, last := appendScript(t, f)
	for _, size := range []int{1, 3, 1000} {
		got := f.ownAll(t, f.head, last.Position, size)
		if !slices.Equal(streamRevs(got), want) {
			t.Errorf("$all in pages of %d = %v\nwant %v", size, streamRevs(got), want)
		}
	}
}

func testPositions(t *testing.T, f *fixture) {
	_, last := appendScript(t, f)
	all := f.ownAll(t, f.head, last.Position, 0)
	for i, e := range all {
		if i > 0 && !all[i-1].Position.Less(e.Position) {
			t.Errorf("position %d (%s) is not after position %d (%s)", i, e.Position, i-1, all[i-1].Position)
		}
		p, err := eventstore.ParsePosition(e.Position.String())
		if err != nil || p != e.Position {
			t.Errorf("ParsePosition(%q) = %+v, %v; want %+v", e.Position.String(), p, err, e.Position)
		}
		byStream := f.mustReadStream(t, e.Stream, e.Revision, 1)
		if len(byStream) != 1 || byStream[0].Position != e.Position {
			t.Errorf("%s@%d: ReadStream position differs from $all position %s", e.Stream, e.Revision, e.Position)
		}
	}
	if got := all[len(all)-1].Position; got != last.Position {
		t.Errorf("last AppendResult position %s, last event at %s", last.Position, got)
	}
	// Reading after any event's position continues right behind it.
	for _, k := range []int{0, 4, len(all) - 2} {
		rest := f.ownAll(t, all[k].Position, last.Position, 0)
		if !slices.Equal(streamRevs(rest), streamRevs(all[k+1:])) {
			t.Errorf("$all after event %d = %v, want %v", k, streamRevs(rest), streamRevs(all[k+1:]))
		}
	}
	if p, err := eventstore.ParsePosition(""); err != nil || p != eventstore.Start {
		t.Errorf(`ParsePosition("") = %v, %v; want Start`, p, err)
	}
	if p, err := eventstore.ParsePosition(eventstore.Start.String()); err != nil || p != eventstore.Start {
		t.Errorf("ParsePosition(Start.String()) = %v, %v; want Start", p, err)
	}
	for _, bad := range []string{"x", "12", "1-", "-1", "g-1", "1-2-3"} {
		if _, err := eventstore.ParsePosition(bad); !errors.Is(err, eventstore.ErrBadPosition) {
			t.Errorf("ParsePosition(%q) err = %v, want ErrBadPosition", bad, err)
		}
	}
}

func testHeadEmpty(t *testing.T, f *fixture) {
	h, ok, err := f.Head(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Skipf("store is not empty (head %s); this case needs a fresh one", h.Position)
	}
	if h != (eventstore.Head{}) {
		t.Errorf("Head of empty store = %+v, want zero", h)
	}
	if got, err := f.ReadAll(f.ctx, eventstore.Start, 0); err != nil || len(got) != 0 {
		t.Errorf("ReadAll of empty store = %d events, %v", len(got), err)
	}
}

func testHeadFollowsAppends(t *testing.T, f *fixture) {
	for i := range 3 {
		res := f.mustAppend(t, f.stream("card-1"), eventstore.Any(), newEvents(i+1, "Moved"))
		deadline := time.Now().Add(visibleWithin)
		for {
			h, ok, err := f.Head(f.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if ok && !h.Position.Less(res.Position) {
				if h.Position == res.Position {
					// Nobody else wrote since: Head is exactly our event.
					e := f.mustReadStream(t, f.stream("card-1"), res.Revision, 1)[0]
					if !h.RecordedAt.Equal(e.RecordedAt) {
						t.Errorf("Head.RecordedAt = %s, event recorded at %s", h.RecordedAt, e.RecordedAt)
					}
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Head = %+v (ok %v), never reached append at %s", h, ok, res.Position)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func testLargeStream(t *testing.T, f *fixture) {
	const total, batch = 5000, 500
	stream := f.stream("large")
	var want []eventstore.EventData
	expected := eventstore.NoStream()
	for len(want) < total {
		events := newEvents(batch, "Bulk")
		res := f.mustAppend(t, stream, expected, events)
		expected = eventstore.Exact(res.Revision)
		want = append(want, events...)
	}
	got := f.mustReadStream(t, stream, 0, 0)
	if len(got) != total {
		t.Fatalf("read %d events, want %d", len(got), total)
	}
	for i, e := range got {
		if e.Revision != uint64(i) || e.ID != want[i].ID {
			t.Fatalf("event %d = %s@%d id %s, want revision %d id %s", i, e.Stream, e.Revision, e.ID, i, want[i].ID)
		}
	}
	if tail := f.mustReadStream(t, stream, total-10, 0); len(tail) != 10 || tail[0].Revision != total-10 {
		t.Errorf("tail read: %d events", len(tail))
	}
	if page := f.mustReadStream(t, stream, 1000, 1000); len(page) != 1000 || page[999].Revision != 1999 {
		t.Errorf("page read: %d events", len(page))
	}
}
