package esdbstore

import (
	"context"
	"testing"

	"github.com/cardledger/cardledger/eventstore"
)

// BenchmarkAppendDouble measures one-event appends through the client and
// gRPC to the double: the adapter's and client's overhead, not a server's.
func BenchmarkAppendDouble(b *testing.B) {
	s := openDouble(b, startDouble(b))
	ctx := context.Background()
	expected := eventstore.NoStream()
	for b.Loop() {
		res, err := s.Append(ctx, "bench", expected, newEvents(1))
		if err != nil {
			b.Fatal(err)
		}
		expected = eventstore.Exact(res.Revision)
	}
}

// BenchmarkCatchUp1000Double measures a subscription catching up on 1000
// stored events.
func BenchmarkCatchUp1000Double(b *testing.B) {
	s := openDouble(b, startDouble(b))
	ctx := context.Background()
	for range 10 {
		if _, err := s.Append(ctx, "bench", eventstore.Any(), newEvents(100)); err != nil {
			b.Fatal(err)
		}
	}
	h, _, err := s.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		sctx, cancel := context.WithCancel(ctx)
		_ = s.SubscribeAll(sctx, eventstore.Start, func(e eventstore.RecordedEvent) error {
			if e.Position == h.Position {
				cancel()
			}
			return nil
		})
		cancel()
	}
}
