// Package loadgen runs the load commands' baselines: a fixed number of
// operations on a fixed number of workers, with per-operation latencies, so
// a figure and its comparison run come from the same code on the same
// database in the same run. A developer tool (see internal/devtools):
// production packages never import it.
package loadgen

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Result summarises one run.
type Result struct {
	Name      string
	Ops       int
	Errors    int
	Elapsed   time.Duration
	PerSecond float64
	P50, P99  time.Duration
}

func (r Result) String() string {
	return fmt.Sprintf("%-34s %8d ops in %7s  %9.0f ops/s  p50 %8s  p99 %8s  errors %d",
		r.Name, r.Ops, r.Elapsed.Round(time.Millisecond), r.PerSecond,
		r.P50.Round(time.Microsecond), r.P99.Round(time.Microsecond), r.Errors)
}

// Run calls op(i) for i in [0, n) on workers goroutines and measures each call.
func Run(ctx context.Context, name string, n, workers int, op func(ctx context.Context, i int) error) Result {
	latencies := make([]time.Duration, n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				if err := op(ctx, i); err != nil {
					errs.Add(1)
				}
				latencies[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	at := func(q float64) time.Duration { return latencies[int(q*float64(len(latencies)-1))] }
	r := Result{Name: name, Ops: n, Errors: int(errs.Load()), Elapsed: elapsed, PerSecond: float64(n) / elapsed.Seconds()}
	if n > 0 {
		r.P50, r.P99 = at(0.5), at(0.99)
	}
	return r
}

// RawInsert is the baseline for the write side: single-row INSERTs, each
// its own transaction, of a row shaped like a stored event, into a scratch
// table of the same database.
func RawInsert(ctx context.Context, pool *pgxpool.Pool, n, workers int) (Result, error) {
	const table = "loadgen_raw_insert"
	if _, err := pool.Exec(ctx, `DROP TABLE IF EXISTS `+table+`;
		CREATE TABLE `+table+` (seq bigserial PRIMARY KEY, stream text NOT NULL, revision bigint NOT NULL,
		id uuid NOT NULL UNIQUE, type text NOT NULL, data jsonb NOT NULL, metadata jsonb NOT NULL,
		recorded_at timestamptz NOT NULL DEFAULT now(), UNIQUE (stream, revision))`); err != nil {
		return Result{}, fmt.Errorf("raw insert baseline: %w", err)
	}
	defer pool.Exec(context.Background(), `DROP TABLE IF EXISTS `+table)
	sample, err := sampleEvents("raw", 1)
	if err != nil {
		return Result{}, err
	}
	data, meta := sample[0].Data, sample[0].Metadata
	return Run(ctx, "raw single-row INSERT", n, workers, func(ctx context.Context, i int) error {
		_, err := pool.Exec(ctx, `INSERT INTO `+table+` (stream, revision, id, type, data, metadata) VALUES ($1, 0, $2, 'CardReportedLost', $3, $4)`,
			fmt.Sprintf("raw-%d", i), uuid.New(), data, meta)
		return err
	}), nil
}

// StoreAppend measures the event store alone: one-event appends to distinct
// new streams, encoded (commands.EncodeEvents) before the clock starts.
func StoreAppend(ctx context.Context, store eventstore.Store, n, workers int) (Result, error) {
	run := uuid.NewString()[:8]
	events, err := sampleEvents(run, n)
	if err != nil {
		return Result{}, err
	}
	return Run(ctx, "event store append (1 event)", n, workers, func(ctx context.Context, i int) error {
		_, err := store.Append(ctx, streamOf(run, i), eventstore.NoStream(), events[i:i+1])
		return err
	}), nil
}

// StoreReadAppend measures the event store as a command uses it: read a
// stream whole, then append one event at the revision read (so the append
// knows the event it chains to). Each of the n streams first gets one
// event, before the clock starts, so that every read finds a stream.
func StoreReadAppend(ctx context.Context, store eventstore.Store, n, workers int) (Result, error) {
	run := uuid.NewString()[:8]
	first, err := sampleEvents(run, n)
	if err != nil {
		return Result{}, err
	}
	next, err := sampleEvents(run, n)
	if err != nil {
		return Result{}, err
	}
	setup := Run(ctx, "setup", n, workers, func(ctx context.Context, i int) error {
		_, err := store.Append(ctx, streamOf(run, i), eventstore.NoStream(), first[i:i+1])
		return err
	})
	if setup.Errors > 0 {
		return Result{}, fmt.Errorf("loadgen: %d of %d streams not written", setup.Errors, n)
	}
	return Run(ctx, "event store read+append (1 event)", n, workers, func(ctx context.Context, i int) error {
		stream := streamOf(run, i)
		events, err := store.ReadStream(ctx, stream, 0, 0)
		if err != nil {
			return err
		}
		_, err = store.Append(ctx, stream, eventstore.Exact(events[len(events)-1].Revision), next[i:i+1])
		return err
	}), nil
}

func streamOf(run string, i int) string { return fmt.Sprintf("loadgen-%s-%d", run, i) }

// sampleEvents are n CardReportedLost events as a command writes them, the
// i-th for stream streamOf(run, i).
func sampleEvents(run string, n int) ([]eventstore.EventData, error) {
	out := make([]eventstore.EventData, n)
	lost := []domain.Event{domain.CardReportedLost{CardNo: "A12345678", Reason: "load"}}
	now := time.Now().UTC()
	for i := range out {
		data, err := commands.EncodeEvents(domain.EncodeEvent, commands.NewEnvelope(domain.Actor{Client: "loadgen"}, "bench"),
			streamOf(run, i), now, lost)
		if err != nil {
			return nil, fmt.Errorf("loadgen: %w", err)
		}
		out[i] = data[0]
	}
	return out, nil
}
