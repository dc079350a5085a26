package readapi_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/readapi"
)

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// BenchmarkBlacklistLookupAndFeed: lookup and feed-page latency over HTTP
// (echo, auth, pgx) with CARDLEDGER_BENCH_LISTED listed cards (default
// 100,000; the README figure uses 1,000,000):
//
//	CARDLEDGER_BENCH_LISTED=1000000 go test ./readapi -run '^$' -bench LookupAndFeed -benchtime 1x
func BenchmarkBlacklistLookupAndFeed(b *testing.B) {
	listed := envInt("CARDLEDGER_BENCH_LISTED", 100000)
	h := newHarness(b)
	ctx := context.Background()
	if err := seed.BlacklistRows(ctx, h.pool, listed); err != nil {
		b.Fatal(err)
	}
	if _, err := h.pool.Exec(ctx, "VACUUM ANALYZE readmodel.blacklist, readmodel.blacklist_changes"); err != nil {
		b.Fatal(err)
	}
	h.replicaSynced()
	var cards []string
	for i := 0; i < 5000; i++ {
		cards = append(cards, fmt.Sprintf("L%08d", (i*7919)%listed), fmt.Sprintf("N%08d", i)) // half not listed
	}
	var res readapi.LoadResult
	for b.Loop() {
		var err error
		res, err = readapi.LoadBlacklist(ctx, readapi.LoadOptions{Server: h.srv.URL, APIKey: keyConsumer, Cards: cards,
			MaxSeq: int64(listed), Requests: 4000, Concurrency: 8, PageLimit: 1000})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(res.Lookup.P99.Microseconds())/1000, "lookup-p99-ms")
	b.ReportMetric(float64(res.FeedPage.P99.Microseconds())/1000, "page1000-p99-ms")
	b.Logf("%d listed: lookup %s; feed page of 1000: %s", listed, res.Lookup, res.FeedPage)
}

// BenchmarkLossToFeed: time from a stored loss (the append returning) to a
// long-polling feed consumer seeing it, with 8 writers reporting losses
// concurrently.
func BenchmarkLossToFeed(b *testing.B) {
	persons := envInt("CARDLEDGER_BENCH_LOSSES", 400)
	h := newHarness(b)
	var ids []int
	for i := 0; len(ids) < persons; i++ {
		if i%5 == 0 && i%17 != 0 {
			ids = append(ids, i)
		}
	}
	for _, i := range ids {
		stream, events := seed.Lifecycle(seed.HistoryKey, i, false)
		h.appendEvents(stream, events...)
	}
	h.run()
	h.caughtUp()
	var latencies []time.Duration
	for b.Loop() {
		latencies = lossToFeed(b, h, ids)
	}
	s := readapi.Summarize(latencies, time.Second)
	b.ReportMetric(float64(s.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(s.P99.Microseconds())/1000, "p99-ms")
	b.Logf("loss → feed: %d losses, p50 %s, p99 %s, max %s", s.N, s.P50, s.P99, s.Max)
}

func lossToFeed(b *testing.B, h *harness, ids []int) []time.Duration {
	var snap readapi.Snapshot
	h.getJSON(keyConsumer, "/v1/blacklist/snapshot", http.StatusOK, &snap)
	var mu sync.Mutex
	stored := map[string]time.Time{}
	seen := map[string]time.Time{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		after := snap.Seq
		for {
			var p readapi.Changes
			h.getJSON(keyConsumer, fmt.Sprintf("/v1/blacklist/changes?after=%d&wait=5s", after), http.StatusOK, &p)
			now := time.Now()
			mu.Lock()
			for _, ch := range p.Changes {
				if ch.Op == "add" {
					seen[ch.CardNo] = now
				}
			}
			n := len(seen)
			mu.Unlock()
			after = p.Next
			if n == len(ids) {
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := w; k < len(ids); k += 8 {
				stream, _ := seed.Lifecycle(seed.HistoryKey, ids[k], false)
				cardNo := fmt.Sprintf("B%08d", ids[k])
				h.appendEvents(stream, domain.CardReportedLost{CardNo: cardNo})
				mu.Lock()
				stored[cardNo] = time.Now()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	<-done
	var out []time.Duration
	for card, at := range stored {
		out = append(out, max(0, seen[card].Sub(at)))
	}
	// Reset for the next iteration: unlock everything.
	for _, i := range ids {
		stream, _ := seed.Lifecycle(seed.HistoryKey, i, false)
		h.appendEvents(stream, domain.CardUnlocked{CardNo: fmt.Sprintf("B%08d", i), Lifted: domain.StatusLost})
	}
	h.caughtUp()
	return out
}
