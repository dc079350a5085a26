package esdbdouble

import (
	"fmt"
	"sync"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
)

func TestReadStreamForms(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.NoStream{}, events("E", 5)...)
	cases := []struct {
		name  string
		opts  esdb.ReadStreamOptions
		count uint64
		want  []uint64
	}{
		{"forwards from start", esdb.ReadStreamOptions{From: esdb.Start{}}, 100, []uint64{0, 1, 2, 3, 4}},
		{"forwards from revision, inclusive", esdb.ReadStreamOptions{From: esdb.Revision(2)}, 100, []uint64{2, 3, 4}},
		{"forwards with count", esdb.ReadStreamOptions{From: esdb.Revision(1)}, 2, []uint64{1, 2}},
		{"forwards past the end", esdb.ReadStreamOptions{From: esdb.Revision(9)}, 100, []uint64{}},
		{"forwards from end", esdb.ReadStreamOptions{From: esdb.End{}}, 100, []uint64{}},
		{"backwards from end", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 100, []uint64{4, 3, 2, 1, 0}},
		{"backwards from end, count 1", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1, []uint64{4}},
		{"backwards from revision, inclusive", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Revision(2)}, 100, []uint64{2, 1, 0}},
		{"backwards from start", esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.Start{}}, 100, []uint64{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			evs, err := readStream(t, c, "s", tc.opts, tc.count)
			if err != nil {
				t.Fatal(err)
			}
			if got := revisions(evs); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("revisions = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestMissingStreamIsReportedOnFirstRecv(t *testing.T) {
	c := start(t)
	_, err := readStream(t, c, "nope", esdb.ReadStreamOptions{}, 10)
	if code, ok := errorCode(err); !ok || code != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("err = %v, want resource not found", err)
	}
}

func TestAllPositionsStrictlyIncreaseInAppendOrder(t *testing.T) {
	c := start(t)
	var results []*esdb.WriteResult
	written := 0
	for i := range 10 {
		n := 1 + i%3
		results = append(results, appendEvents(t, c, fmt.Sprintf("s-%d", i%3), esdb.Any{}, events("E", n)...))
		written += n
	}
	all := readAll(t, c, esdb.ReadAllOptions{}, 1000)
	if len(all) != written {
		t.Fatalf("$all has %d events, want %d", len(all), written)
	}
	for i := 1; i < len(all); i++ {
		p, q := all[i-1].Event.Position, all[i].Event.Position
		if q.Commit <= p.Commit || q.Prepare <= p.Prepare {
			t.Fatalf("position %d %+v does not follow %+v", i, q, p)
		}
	}
	if all[0].Event.Position.Commit == 0 {
		t.Fatal("first event at commit position 0")
	}
	last := results[len(results)-1]
	if got := all[len(all)-1].Event.Position; got.Commit != last.CommitPosition || got.Prepare != last.PreparePosition {
		t.Fatalf("last event at %+v, append reported %+v", got, *last)
	}
}

func TestReadAllFromPosition(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.NoStream{}, events("E", 5)...)
	all := readAll(t, c, esdb.ReadAllOptions{}, 100)
	mid := all[2].Event.Position
	fwd := readAll(t, c, esdb.ReadAllOptions{From: mid}, 100)
	if got := revisions(fwd); fmt.Sprint(got) != "[2 3 4]" {
		t.Fatalf("forwards from event 2's position = %v, want [2 3 4] (inclusive)", got)
	}
	back := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: mid}, 100)
	if got := revisions(back); fmt.Sprint(got) != "[1 0]" {
		t.Fatalf("backwards from event 2's position = %v, want [1 0] (exclusive)", got)
	}
	head := readAll(t, c, esdb.ReadAllOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if got := revisions(head); fmt.Sprint(got) != "[4]" {
		t.Fatalf("backwards from end, 1 = %v, want [4]", got)
	}
	if got := readAll(t, c, esdb.ReadAllOptions{From: esdb.End{}}, 100); len(got) != 0 {
		t.Fatalf("forwards from end returned %d events", len(got))
	}
}

// TestAllNeverShowsHalfAnAppend reads $all while writers append five-event
// batches: every stream a reader sees must hold all five events.
func TestAllNeverShowsHalfAnAppend(t *testing.T) {
	c := start(t)
	const writers, batches, size = 3, 30, 5
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				stream := fmt.Sprintf("w%d-b%d", w, b)
				if _, err := c.AppendToStream(testContext(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, events("E", size)...); err != nil {
					t.Errorf("append %s: %v", stream, err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for reads := 0; ; reads++ {
		select {
		case <-done:
			if reads == 0 {
				t.Fatal("no read overlapped the writers")
			}
			return
		default:
		}
		seen := map[string]int{}
		for _, e := range readAll(t, c, esdb.ReadAllOptions{}, 100000) {
			seen[e.Event.StreamID]++
		}
		for stream, n := range seen {
			if n != size {
				t.Fatalf("read %d saw %d of %s's %d events", reads, n, stream, size)
			}
		}
	}
}
