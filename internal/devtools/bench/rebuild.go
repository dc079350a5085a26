package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// RebuildResult compares a rebuild with a raw COPY of as many
// comparable rows (shaped like the steps table, with its primary key) into
// the same database, measured in the same run.
type RebuildResult struct {
	Events          uint64
	RebuildSeconds  float64
	RebuildPerSec   float64
	ReadWaitSeconds float64 // of RebuildSeconds: waiting for store pages
	ApplySeconds    float64 // of RebuildSeconds: writing the read model
	CopyRows        int
	CopySeconds     float64
	CopyRowsPerSec  float64
	RatioRebuildRaw float64 // RebuildPerSec / CopyRowsPerSec; the target is ≥ 1/3
}

func (r RebuildResult) String() string {
	return fmt.Sprintf("rebuild: %d events in %.1fs (%.1fs waiting for reads, %.1fs applying) = %.0f events/s; "+
		"raw COPY: %d rows in %.1fs = %.0f rows/s; ratio %.2f",
		r.Events, r.RebuildSeconds, r.ReadWaitSeconds, r.ApplySeconds, r.RebuildPerSec,
		r.CopyRows, r.CopySeconds, r.CopyRowsPerSec, r.RatioRebuildRaw)
}

// Rebuild rebuilds the read model of the events already in the store
// (see seed.History) and then COPYs one comparable row per event into a scratch
// table of the same database. The runner must have the read model
// registered; it need not be running. progress, if set, sees the rebuild's
// progress (whether the rate holds up over a long run).
func Rebuild(ctx context.Context, r *projections.Runner, pool *pgxpool.Pool, progress func(projections.RebuildProgress)) (RebuildResult, error) {
	st, err := r.RebuildWith(ctx, readmodel.Name, projections.RebuildOptions{Progress: progress})
	if err != nil {
		return RebuildResult{}, err
	}
	res := RebuildResult{Events: st.Events, RebuildSeconds: st.Duration.Seconds(), RebuildPerSec: st.EventsPerSecond(),
		ReadWaitSeconds: st.ReadWait.Seconds(), ApplySeconds: st.Apply.Seconds()}
	n := int(st.Events)
	took, err := rawCopy(ctx, pool, n)
	if err != nil {
		return res, err
	}
	res.CopyRows, res.CopySeconds = n, took.Seconds()
	if took > 0 {
		res.CopyRowsPerSec = float64(n) / took.Seconds()
	}
	if res.CopyRowsPerSec > 0 {
		res.RatioRebuildRaw = res.RebuildPerSec / res.CopyRowsPerSec
	}
	return res, nil
}

// rawCopy COPYs n step-like rows into a fresh table shaped like
// readmodel.steps (same columns, primary key and indexes), in batches of
// the same size the rebuild uses, and drops it.
func rawCopy(ctx context.Context, pool *pgxpool.Pool, n int) (time.Duration, error) {
	const table = "readmodel_bench_copy"
	if _, err := pool.Exec(ctx, "DROP TABLE IF EXISTS "+table+"; CREATE TABLE "+table+
		" (LIKE "+readmodel.Schema+".steps INCLUDING ALL)"); err != nil {
		return 0, fmt.Errorf("raw copy: %w", err)
	}
	defer pool.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+table)
	at := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	start := time.Now()
	const batch = 5000
	for done := 0; done < n; done += batch {
		k := min(batch, n-done)
		_, err := pool.CopyFrom(ctx, pgx.Identifier{table},
			[]string{"pos_commit", "pos_prepare", "stream", "application_id", "card_no", "step", "at",
				"from_party", "to_party", "handler", "detail"},
			pgx.CopyFromSlice(k, func(i int) ([]any, error) {
				j := done + i
				return []any{int64(j), int64(j), fmt.Sprintf("cardholder-%032x", j/10), fmt.Sprintf("app-%d", j/10),
					fmt.Sprintf("B%08d", j/10), "produced", at.Add(time.Duration(j) * time.Second),
					"vendor-a", "agency-1", "clerk", ""}, nil
			}))
		if err != nil {
			return 0, fmt.Errorf("raw copy: %w", err)
		}
	}
	return time.Since(start), nil
}
