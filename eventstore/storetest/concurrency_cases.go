package storetest

import (
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
)

func testConcurrentExact(t *testing.T, f *fixture) {
	const writers, rounds = 8, 10
	stream := f.stream("contended")
	first := newEvents(1, "Opened")
	f.mustAppend(t, stream, eventstore.NoStream(), first)
	winners := dataIDs(first)
	for round := range uint64(rounds) {
		expected := eventstore.Exact(round)
		events := make([][]eventstore.EventData, writers)
		results := make([]eventstore.AppendResult, writers)
		errs := make([]error, writers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			events[w] = newEvents(1, "Contended")
			wg.Go(func() {
				<-start
				results[w], errs[w] = f.Append(f.ctx, stream, expected, events[w])
			})
		}
		close(start)
		wg.Wait()

		won := -1
		for w, err := range errs {
			if err == nil {
				if won >= 0 {
					t.Fatalf("round %d: writers %d and %d both appended at %s", round, won, w, expected)
				}
				won = w
				continue
			}
			wantWrongRevision(t, err, stream, expected, round+1, true)
		}
		if won < 0 {
			t.Fatalf("round %d: no writer appended at %s: %v", round, expected, errors.Join(errs...))
		}
		if results[won].Revision != round+1 {
			t.Errorf("round %d: winner got revision %d, want %d", round, results[won].Revision, round+1)
		}
		winners = append(winners, events[won][0].ID)
	}
	if got := ids(f.mustReadStream(t, stream, 0, 0)); !slices.Equal(got, winners) {
		t.Errorf("stream = %v, want the winners %v", got, winners)
	}
}

func testConcurrentAny(t *testing.T, f *fixture) {
	const writers, appends, perAppend = 6, 10, 2
	stream := f.stream("shared")
	batches := make([][][]eventstore.EventData, writers)
	results := make([][]eventstore.AppendResult, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range appends {
				events := newEvents(perAppend, "Any")
				res, err := f.Append(f.ctx, stream, eventstore.Any(), events)
				if err != nil {
					t.Errorf("writer %d: %v", w, err)
					return
				}
				batches[w] = append(batches[w], events)
				results[w] = append(results[w], res)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	got := f.mustReadStream(t, stream, 0, 0)
	if len(got) != writers*appends*perAppend {
		t.Fatalf("stream has %d events, want %d", len(got), writers*appends*perAppend)
	}
	at := map[uuid.UUID]uint64{}
	for i, e := range got {
		if e.Revision != uint64(i) {
			t.Fatalf("event %d has revision %d", i, e.Revision)
		}
		if _, dup := at[e.ID]; dup {
			t.Fatalf("event %s stored twice", e.ID)
		}
		at[e.ID] = e.Revision
	}
	for w := range writers {
		for i, events := range batches[w] {
			last := results[w][i].Revision
			for k, e := range events {
				rev, ok := at[e.ID]
				if !ok || rev != last-uint64(perAppend-1-k) {
					t.Errorf("writer %d append %d event %d at revision %d (stored %v), want %d: appends must stay together",
						w, i, k, rev, ok, last-uint64(perAppend-1-k))
				}
			}
		}
	}
}
