package analytics_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/analytics/chtest"
	"github.com/cardledger/cardledger/internal/devtools/bench"
	"github.com/cardledger/cardledger/projections"
)

// envInt reads a benchmark size from the environment.
func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkQueries loads CARDLEDGER_BENCH_ROWS synthetic usage rows
// (default 1,000,000; the target is 10,000,000) and times each analysis
// CARDLEDGER_BENCH_RUNS times (20). Run with -benchtime=1x: one iteration
// is one full measurement.
//
// CARDLEDGER_BENCH_CLUSTER=1 runs it on the test cluster of
// scripts/services.sh clickhouse-cluster (two shards of two replicas, the
// environment of chtest.NewClusterDatabase) instead of one server: the rows
// go through the Distributed tables synchronously, as the projection
// writes them, every replica has fetched them before the first query, and
// the bytes on disk are summed over the four nodes.
func BenchmarkQueries(b *testing.B) {
	ctx := context.Background()
	url, nodes := chtest.NewDatabase, []string(nil)
	if os.Getenv("CARDLEDGER_BENCH_CLUSTER") == "1" {
		cl := chtest.NewClusterDatabase(b)
		nodes = cl.URLs
		url = func(testing.TB) string { return cl.URLs[0] + "?insert_distributed_sync=1" }
	}
	conn, err := analytics.Open(ctx, url(b))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	rows := envInt("CARDLEDGER_BENCH_ROWS", 1_000_000)
	end := time.Date(2025, 12, 31, 12, 0, 0, 0, time.UTC)
	load, err := bench.LoadUsage(ctx, conn, bench.LoadOptions{Rows: rows, End: end}, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d rows in %s (%.0f rows/s)", load.Rows, load.Elapsed.Round(time.Millisecond), load.RowsPerSec)
	if nodes == nil {
		nodes = []string{""}
	}
	// What the rows take on disk, for docs/scale.md: every active part of
	// this database (the usage table holds nearly all of it) on every node,
	// as loaded, before background merges finish.
	var compressed, uncompressed, partRows uint64
	for _, node := range nodes {
		c := conn
		if node != "" {
			if c, err = analytics.Open(ctx, node); err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			// The insert was acknowledged by one replica of each shard.
			if err := c.Exec(ctx, "SYSTEM SYNC REPLICA usage_facts_local"); err != nil {
				b.Fatal(err)
			}
		}
		var comp, uncomp, n uint64
		if err := c.QueryRow(ctx, "SELECT sum(data_compressed_bytes), sum(data_uncompressed_bytes), sum(rows) "+
			"FROM system.parts WHERE active AND database = currentDatabase()").Scan(&comp, &uncomp, &n); err != nil {
			b.Fatal(err)
		}
		compressed, uncompressed, partRows = compressed+comp, uncompressed+uncomp, partRows+n
	}
	b.Logf("stored on %d node(s): %d rows in active parts, %d bytes compressed (%.1f per loaded row), %d uncompressed",
		len(nodes), partRows, compressed, float64(compressed)/float64(rows), uncompressed)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		timings, err := bench.Queries(ctx, conn, 12, end, envInt("CARDLEDGER_BENCH_RUNS", 20))
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range timings {
			b.ReportMetric(float64(t.Median.Microseconds())/1000, t.Name+"-median-ms")
			b.ReportMetric(float64(t.P99.Microseconds())/1000, t.Name+"-p99-ms")
			b.Logf("%-15s median %8s  p99 %8s  (%d runs, %d rows)", t.Name, t.Median.Round(100*time.Microsecond),
				t.P99.Round(100*time.Microsecond), t.Runs, rows)
		}
	}
}

// BenchmarkProjectionInsert compares the projection's ClickHouse writes with
// clickhouse-client inserting the same rows as TSV.
func BenchmarkProjectionInsert(b *testing.B) {
	ctx := context.Background()
	url := chtest.NewDatabase(b)
	conn, err := analytics.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	rows := envInt("CARDLEDGER_BENCH_INSERT_ROWS", 500_000)
	for i := 0; i < b.N; i++ {
		if err := conn.Exec(ctx, "TRUNCATE TABLE usage_facts"); err != nil {
			b.Fatal(err)
		}
		if err := conn.Exec(ctx, "TRUNCATE TABLE projection_checkpoints"); err != nil {
			b.Fatal(err)
		}
		r, err := bench.CompareInsert(ctx, conn, url, "/usr/bin/clickhouse-client", rows, envInt("CARDLEDGER_BENCH_INSERT_BATCH", 20000))
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(r.ProjectionPerSec, "projection-rows/s")
		b.ReportMetric(r.ClientTSVPerSec, "clickhouse-client-tsv-rows/s")
		b.Logf("%d rows: projection %.0f rows/s (%s), clickhouse-client TSV %.0f rows/s (%s), ratio %.2f",
			r.Rows, r.ProjectionPerSec, r.ProjectionElapsed.Round(time.Millisecond),
			r.ClientTSVPerSec, r.ClientElapsed.Round(time.Millisecond), r.ProjectionPerSec/r.ClientTSVPerSec)
	}
}

// BenchmarkIngestEndToEnd posts usage over HTTP (batches of 5,000) and
// waits until the projection, running under projections.Runner, has
// written all of it to ClickHouse.
func BenchmarkIngestEndToEnd(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s := newSystem(b)
	var cards []string
	for i := 0; i < 200; i++ {
		cards = append(cards, s.register(i, []string{"320505", "320583", "320102", "340104"}[i%4]).cardNo)
	}
	pool, err := pgxpool.New(ctx, s.pgURL)
	if err != nil {
		b.Fatal(err)
	}
	defer pool.Close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- projections.NewRunner(s.store, pool, log).WithOptions(analytics.RunnerOptions()).Add(s.proj).Run(runCtx)
	}()
	defer func() { stop(); <-done }()

	records := envInt("CARDLEDGER_BENCH_INGEST_RECORDS", 50_000)
	rng := rand.New(rand.NewPCG(9, 9))
	for i := 0; i < b.N; i++ {
		batches := records / 5000
		inputs := make([][]byte, 0, batches)
		for k := 0; k < batches; k++ {
			inputs = append(inputs, mustMarshal(b, analytics.UsageRequest{
				Records: randomUsage(rng, fmt.Sprintf("e2e%d-%d", i, k), 5000, cards)}))
		}
		started := time.Now()
		for _, body := range inputs {
			if rec := s.doRaw(http.MethodPost, "/v1/usage", bankKey, body); rec.Code != http.StatusOK {
				b.Fatalf("POST: %d %s", rec.Code, rec.Body.String())
			}
		}
		stored := time.Since(started)
		for {
			pos, _, _ := s.proj.Stored()
			if !pos.Less(s.lastWritten()) {
				break
			}
			if ctx.Err() != nil {
				b.Fatal("projection did not catch up")
			}
			time.Sleep(5 * time.Millisecond)
		}
		visible := time.Since(started)
		n := float64(batches * 5000)
		b.ReportMetric(n/stored.Seconds(), "stored-records/s")
		b.ReportMetric(n/visible.Seconds(), "visible-records/s")
		b.Logf("%0.f records: in the event store at %.0f/s, visible in ClickHouse at %.0f/s (%s)",
			n, n/stored.Seconds(), n/visible.Seconds(), visible.Round(time.Millisecond))
	}
}
