package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// BenchmarkReadModelLiveBatch is one live batch of the read model as
// `bench http` makes them: a temporary loss or an unlock on each of 64
// holders the model has stored before (appended outside the timer). Per
// op: one batch of 64 events, Go and PostgreSQL together.
//
//	go test ./projections -run '^$' -bench ReadModelLiveBatch -benchtime 200x -benchmem
func BenchmarkReadModelLiveBatch(b *testing.B) {
	const holders = 64
	ctx := context.Background()
	e := newEnv(b)
	res, err := seed.History(ctx, e.store, holders, seed.HistoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	e.waitVisible(b, res.Last)
	events, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	if err != nil {
		b.Fatal(err)
	}
	m := readmodel.New(e.pool)
	if err := m.Apply(ctx, events); err != nil {
		b.Fatal(err)
	}
	type card struct{ stream, no string }
	var cards []card
	rows, err := e.pool.Query(ctx, "SELECT stream, card_no FROM readmodel.cards WHERE status = 'active' AND is_current ORDER BY stream")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var c card
		if err := rows.Scan(&c.stream, &c.no); err != nil {
			b.Fatal(err)
		}
		cards = append(cards, c)
	}
	if rows.Err() != nil || len(cards) == 0 {
		b.Fatal(rows.Err(), len(cards))
	}
	last := events[len(events)-1].Position
	batch := make([]eventstore.RecordedEvent, 0, len(cards))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		for _, c := range cards {
			var ev domain.Event = domain.CardTemporarilyLost{CardNo: c.no}
			if i%2 == 1 {
				ev = domain.CardUnlocked{CardNo: c.no, Lifted: domain.StatusTemporarilyLost}
			}
			data, err := commands.EncodeEvents(domain.EncodeEvent, commands.NewEnvelope(domain.Actor{Client: "bench"}, "bench"),
				c.stream, time.Now().UTC(), []domain.Event{ev})
			if err != nil {
				b.Fatal(err)
			}
			r, err := e.store.Append(ctx, c.stream, eventstore.Any(), data)
			if err != nil {
				b.Fatal(err)
			}
			e.noteAppended(r.Position)
		}
		e.waitVisible(b, e.last)
		// $all may show the head before every row below it.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			batch, err = e.store.ReadAll(ctx, last, 0)
			if err != nil || len(batch) == len(cards) {
				break
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d events after %s", len(batch), len(cards), last)
			}
		}
		if err != nil {
			b.Fatal(err)
		}
		last = batch[len(batch)-1].Position
		b.StartTimer()
		if err := m.Apply(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(cards)), "µs/event")
}
