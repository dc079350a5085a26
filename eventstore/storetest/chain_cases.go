package storetest

import (
	"bytes"
	"sync"
	"testing"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
)

// wantChained reads stream and checks every event's hash is the chain
// rule's hash of it and of its predecessor; it returns the events.
func wantChained(t *testing.T, f *fixture, stream string) []eventstore.RecordedEvent {
	t.Helper()
	events := f.mustReadStream(t, stream, 0, 0)
	var w chain.Walker
	for _, e := range events {
		if err := w.Next(e); err != nil {
			t.Fatalf("chain of %s: %v", stream, err)
		}
	}
	return events
}

func testChainOnAppend(t *testing.T, f *fixture) {
	stream := f.stream("chained")
	withOddMetadata := newEvents(2, "Odd")
	withOddMetadata[0].Metadata = nil
	withOddMetadata[1].Metadata = []byte(" not json \xff")
	f.mustAppend(t, stream, eventstore.NoStream(), newEvents(2, "First"))
	f.mustAppend(t, stream, eventstore.Exact(1), newEvents(1, "Exact"))
	f.mustAppend(t, stream, eventstore.Any(), newEvents(3, "Any"))
	last := f.mustAppend(t, stream, eventstore.StreamExists(), withOddMetadata)

	events := wantChained(t, f, stream)
	if len(events) != 8 {
		t.Fatalf("stream has %d events, want 8", len(events))
	}
	var prev []byte
	for _, e := range events {
		want := chain.Hash(prev, chain.Event{Stream: e.Stream, Revision: e.Revision, ID: e.ID, Type: e.Type, Data: e.Data, Metadata: e.Metadata})
		if !bytes.Equal(e.Hash, want) {
			t.Errorf("revision %d hash = %x, want %x", e.Revision, e.Hash, want)
		}
		prev = e.Hash
	}
	if !bytes.Equal(events[7].Metadata, withOddMetadata[1].Metadata) || len(events[6].Metadata) != 0 {
		t.Errorf("metadata read back as %q and %q", events[6].Metadata, events[7].Metadata)
	}

	all := f.ownAll(t, f.head, last.Position, 0)
	if len(all) != len(events) {
		t.Fatalf("$all has %d of the events, want %d", len(all), len(events))
	}
	for i, e := range all {
		if !bytes.Equal(e.Hash, events[i].Hash) || !bytes.Equal(e.Metadata, events[i].Metadata) {
			t.Errorf("$all event %d: hash %x metadata %q, stream read gave %x %q", i, e.Hash, e.Metadata, events[i].Hash, events[i].Metadata)
		}
	}
}

func testChainStreamsIndependent(t *testing.T, f *fixture) {
	// Identical events at revision 0 of two streams still hash apart,
	// because the stream name is covered.
	a, b := f.stream("a"), f.stream("b")
	f.mustAppend(t, a, eventstore.NoStream(), newEvents(1, "Same"))
	f.mustAppend(t, b, eventstore.NoStream(), newEvents(1, "Same"))
	ea, eb := wantChained(t, f, a), wantChained(t, f, b)
	if bytes.Equal(ea[0].Hash, eb[0].Hash) {
		t.Errorf("two streams' first events share hash %x", ea[0].Hash)
	}
}

func testChainIdempotentRetry(t *testing.T, f *fixture) {
	for _, expected := range []eventstore.ExpectedRevision{eventstore.NoStream(), eventstore.Any(), eventstore.Exact(0), eventstore.StreamExists()} {
		t.Run(expected.String(), func(t *testing.T) {
			stream := f.stream("retry-" + expected.String())
			if !expected.IsNoStream() && !expected.IsAny() {
				f.mustAppend(t, stream, eventstore.NoStream(), newEvents(1, "Before"))
			}
			events := newEvents(2, "Retried")
			first := f.mustAppend(t, stream, expected, events)
			before := wantChained(t, f, stream)
			second := f.mustAppend(t, stream, expected, events)
			if second.Revision != first.Revision || second.Position != first.Position {
				t.Errorf("retry result = %+v, want %+v", second, first)
			}
			after := wantChained(t, f, stream)
			if len(after) != len(before) || !bytes.Equal(after[len(after)-1].Hash, before[len(before)-1].Hash) {
				t.Errorf("retry changed the chain: %d events, head %x; was %d, %x",
					len(after), after[len(after)-1].Hash, len(before), before[len(before)-1].Hash)
			}
		})
	}
}

func testChainConcurrentAppends(t *testing.T, f *fixture) {
	const writers, appends = 6, 8
	stream := f.stream("contended-chain")
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range appends {
				expected := eventstore.Any()
				if i%2 == 1 {
					expected = eventstore.StreamExists()
				}
				if _, err := f.Append(f.ctx, stream, expected, newEvents(1+w%2, "Racing")); err != nil {
					t.Errorf("writer %d append %d: %v", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	events := wantChained(t, f, stream)
	if want := appends * (writers/2*1 + writers/2*2); len(events) != want {
		t.Errorf("stream has %d events, want %d", len(events), want)
	}
}
