package projections_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cardledger/cardledger/internal/devtools/bench"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections"
)

// BenchmarkRebuildVsRawCopy seeds CARDLEDGER_BENCH_PERSONS persons (about
// ten events each; default 10,000 → ~100,000 events; 100000 gives the
// million-event figure) once (or uses the database CARDLEDGER_BENCH_DB), then per iteration rebuilds the read model
// and COPYs as many comparable rows. Run it alone:
//
//	go test ./projections -run '^$' -bench RebuildVsRawCopy -benchtime 1x
func BenchmarkRebuildVsRawCopy(b *testing.B) {
	persons := 10000
	if s := os.Getenv("CARDLEDGER_BENCH_PERSONS"); s != "" {
		persons, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	var e *env
	if url := os.Getenv("CARDLEDGER_BENCH_DB"); url != "" {
		// An existing database with events already stored (seeding a
		// million events through appends takes long on a busy machine).
		e = openEnv(b, url)
	} else {
		e = newEnv(b)
		seeded, err := seed.History(ctx, e.store, persons, seed.HistoryOptions{Concurrency: 8})
		if err != nil {
			b.Fatal(err)
		}
		e.waitVisible(b, seeded.Last)
	}
	r := e.runner()
	if s := os.Getenv("CARDLEDGER_BENCH_PAGE"); s != "" {
		page, _ := strconv.Atoi(s)
		r.WithOptions(projections.Options{PageSize: page})
	}
	b.ResetTimer()
	var last bench.RebuildResult
	for b.Loop() {
		var err error
		last, err = bench.Rebuild(ctx, r, e.pool, progressLines(b))
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(last.RebuildPerSec, "events/s")
	b.ReportMetric(last.CopyRowsPerSec, "copy-rows/s")
	b.ReportMetric(last.RatioRebuildRaw, "ratio")
	b.Log(last)
}

// progressLines logs the rebuild's rate every five seconds, which shows
// whether it holds up over a long run.
func progressLines(b *testing.B) func(projections.RebuildProgress) {
	var last projections.RebuildProgress
	return func(p projections.RebuildProgress) {
		if p.Elapsed-last.Elapsed < 5*time.Second {
			return
		}
		b.Logf("rebuild: %d events, %.0f events/s, at %s", p.Events,
			float64(p.Events-last.Events)/(p.Elapsed-last.Elapsed).Seconds(), p.Position)
		last = p
	}
}
