package bench_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/devtools/bench"
	"github.com/cardledger/cardledger/internal/testpg"
)

func TestBenchLossUnlockRunsEveryCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	store := pgstoretest.OpenTest(t)
	res, err := bench.LossUnlock(ctx, store, 20, 4)
	require.NoError(t, err)
	assert.Equal(t, 40, res.Commands)
	assert.Zero(t, res.Errors)
	assert.LessOrEqual(t, res.P50, res.P99)
	assert.LessOrEqual(t, res.P99, res.Max)
}

// BenchmarkLossUnlock measures concurrent loss+unlock pairs on distinct
// cards against PostgreSQL; one op is one pair (two commands). It reports
// commands/s and the p99 latency of single commands.
func BenchmarkLossUnlock(b *testing.B) {
	ctx := context.Background()
	store := pgstoretest.OpenURL(b, testpg.NewDatabase(b)+"&pool_max_conns=16")
	const cards = 256
	fixture, err := bench.NewCommands(ctx, store, cards, 8)
	require.NoError(b, err)
	free := make(chan string, cards)
	for _, c := range fixture.Cards() {
		free <- c
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			no := <-free
			loss, unlock, err := fixture.Pair(ctx, no)
			free <- no
			if err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			latencies = append(latencies, loss, unlock)
			mu.Unlock()
		}
	})
	b.StopTimer()
	slices.Sort(latencies)
	if len(latencies) > 0 {
		b.ReportMetric(float64(latencies[int(0.99*float64(len(latencies)-1))].Microseconds())/1000, "p99-ms")
	}
	b.ReportMetric(float64(2*b.N)/b.Elapsed().Seconds(), "commands/s")
}
