package pgstore

import (
	"context"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/testpg"
)

// benchConns is the pool size and the number of concurrent writers in the
// append benchmarks.
const benchConns = 8

func benchURL(b *testing.B) string {
	u, err := url.Parse(testpg.NewDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(benchConns))
	u.RawQuery = q.Encode()
	return u.String()
}

// runParallel runs op from benchConns goroutines and reports operations per
// second, the figure to compare between the two benchmarks.
func runParallel(b *testing.B, op func(ctx context.Context, i int64) error) {
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism((benchConns + 1) / 2)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := op(ctx, n.Add(1)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

// BenchmarkAppend: one event per append, each to a new stream.
func BenchmarkAppend(b *testing.B) {
	s, err := Open(context.Background(), benchURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := []byte(`{"card_no":"D12345678","holder":"张三","reason":"lost"}`)
	meta := []byte(`{"causation":"cmd-1"}`)
	runParallel(b, func(ctx context.Context, i int64) error {
		_, err := s.Append(ctx, "card-"+strconv.FormatInt(i, 10), eventstore.NoStream(), []eventstore.EventData{
			{ID: uuid.New(), Type: "CardReported", Data: data, Metadata: meta},
		})
		return err
	})
}

// BenchmarkRawInsert: the floor Append is measured against, a plain
// single-row INSERT into a table with the same columns and indexes, without
// the revision check, idempotency check or notification.
func BenchmarkRawInsert(b *testing.B) {
	pool, err := pgxpool.New(context.Background(), benchURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), `CREATE TABLE raw_events (
		xid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
		seq         bigint      GENERATED ALWAYS AS IDENTITY,
		stream      text        NOT NULL,
		revision    bigint      NOT NULL,
		id          uuid        NOT NULL UNIQUE,
		type        text        NOT NULL,
		data        bytea       NOT NULL,
		metadata    bytea       NOT NULL,
		recorded_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (xid, seq),
		UNIQUE (stream, revision))`); err != nil {
		b.Fatal(err)
	}
	data := []byte(`{"card_no":"D12345678","holder":"张三","reason":"lost"}`)
	meta := []byte(`{"causation":"cmd-1"}`)
	runParallel(b, func(ctx context.Context, i int64) error {
		_, err := pool.Exec(ctx, `INSERT INTO raw_events (stream, revision, id, type, data, metadata)
			VALUES ($1, 0, $2, $3, $4, $5)`,
			"card-"+strconv.FormatInt(i, 10), [16]byte(uuid.New()), "CardReported", data, meta)
		return err
	})
}

// BenchmarkSubscribeDelivery: time from Append returning to a live
// subscriber receiving the event, one event at a time.
func BenchmarkSubscribeDelivery(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, err := Open(ctx, benchURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	delivered := make(chan time.Time, 1)
	go s.SubscribeAll(ctx, eventstore.Start, func(eventstore.RecordedEvent) error {
		delivered <- time.Now()
		return nil
	})
	var total, worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		if _, err := s.Append(ctx, "card-"+strconv.Itoa(i), eventstore.NoStream(), []eventstore.EventData{
			{ID: uuid.New(), Type: "CardReported", Data: []byte(`{}`)},
		}); err != nil {
			b.Fatal(err)
		}
		appended := time.Now()
		select {
		case at := <-delivered:
			d := max(at.Sub(appended), 0)
			total += d
			worst = max(worst, d)
		case <-time.After(10 * time.Second):
			b.Fatalf("event %d not delivered within 10s", i)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms-mean-delivery")
	b.ReportMetric(float64(worst.Microseconds())/1000, "ms-max-delivery")
}

// BenchmarkReadThenAppend: what a command does to the store, read a stream
// whole and append one event at the revision read, through appendSQL (the
// chain computed in SQL) and through appendHashedSQL (the previous hash from
// the stream cache, the chain computed in Go). Each stream has one event
// before the clock starts.
func BenchmarkReadThenAppend(b *testing.B) {
	for _, bc := range []struct {
		name   string
		hashed bool
	}{{"appendSQL", false}, {"appendHashedSQL", true}} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := Open(context.Background(), benchURL(b))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			data := []byte(`{"card_no":"D12345678","holder":"张三","reason":"lost"}`)
			meta := []byte(`{"causation":"cmd-1"}`)
			for i := range int64(b.N) {
				if _, err := s.Append(ctx, "card-"+strconv.FormatInt(i+1, 10), eventstore.NoStream(), []eventstore.EventData{
					{ID: uuid.New(), Type: "CardIssued", Data: data, Metadata: meta},
				}); err != nil {
					b.Fatal(err)
				}
			}
			cache := s.streams
			if !bc.hashed {
				cache = nil
			}
			runParallel(b, func(ctx context.Context, i int64) error {
				stream := "card-" + strconv.FormatInt(i, 10)
				got, err := s.ReadStream(ctx, stream, 0, 0)
				if err != nil {
					return err
				}
				_, _, err = appendOnce(ctx, s.pool, nil, cache, nil, stream, eventstore.Exact(got[len(got)-1].Revision), []eventstore.EventData{
					{ID: uuid.New(), Type: "CardReported", Data: data, Metadata: meta},
				})
				return err
			})
		})
	}
}
