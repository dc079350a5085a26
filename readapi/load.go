package readapi

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// LoadOptions drive LoadBlacklist against a running server.
type LoadOptions struct {
	Server      string   // base URL
	APIKey      string   // a blacklist-consumer key
	Cards       []string // card numbers to look up (listed or not)
	MaxSeq      int64    // feed pages start at a random seq below this
	Requests    int      // per kind (lookups, feed pages)
	Concurrency int
	PageLimit   int // feed page size (1000)
	Client      *http.Client
}

// Latencies summarises one kind of request.
type Latencies struct {
	N             int
	P50, P99, Max time.Duration
	PerSecond     float64
}

func (l Latencies) String() string {
	return fmt.Sprintf("n=%d p50=%s p99=%s max=%s (%.0f/s)", l.N, l.P50, l.P99, l.Max, l.PerSecond)
}

// LoadResult is what LoadBlacklist measured.
type LoadResult struct {
	Lookup, FeedPage Latencies
}

// LoadBlacklist measures lookups (GET /v1/blacklist/{card_no}) and feed
// pages (GET /v1/blacklist/changes?after=<random>&limit=PageLimit) with
// Concurrency clients, Requests of each.
func LoadBlacklist(ctx context.Context, o LoadOptions) (LoadResult, error) {
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency + 1}}
	}
	if o.PageLimit <= 0 {
		o.PageLimit = 1000
	}
	base := strings.TrimSuffix(o.Server, "/")
	var res LoadResult
	var err error
	res.Lookup, err = measure(ctx, o, func(rng *rand.Rand) string {
		return base + "/v1/blacklist/" + o.Cards[rng.IntN(len(o.Cards))]
	})
	if err != nil {
		return res, err
	}
	res.FeedPage, err = measure(ctx, o, func(rng *rand.Rand) string {
		return fmt.Sprintf("%s/v1/blacklist/changes?after=%d&limit=%d", base, rng.Int64N(max(o.MaxSeq, 1)), o.PageLimit)
	})
	return res, err
}

func measure(ctx context.Context, o LoadOptions, url func(*rand.Rand) string) (Latencies, error) {
	per := (o.Requests + o.Concurrency - 1) / o.Concurrency
	all := make([][]time.Duration, o.Concurrency)
	errs := make([]error, o.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for range per {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, url(rng), nil)
				if err != nil {
					errs[w] = err
					return
				}
				req.Header.Set("Authorization", "Bearer "+o.APIKey)
				t := time.Now()
				res, err := o.Client.Do(req)
				if err != nil {
					errs[w] = err
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					errs[w] = fmt.Errorf("GET %s: %s", req.URL, res.Status)
					return
				}
				all[w] = append(all[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return Latencies{}, err
		}
	}
	return summarize(slices.Concat(all...), took), nil
}

func summarize(d []time.Duration, took time.Duration) Latencies {
	if len(d) == 0 {
		return Latencies{}
	}
	slices.Sort(d)
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return Latencies{N: len(d), P50: at(0.50), P99: at(0.99), Max: d[len(d)-1], PerSecond: float64(len(d)) / took.Seconds()}
}

// Summarize is summarize for callers measuring their own latencies.
func Summarize(d []time.Duration, took time.Duration) Latencies { return summarize(d, took) }
