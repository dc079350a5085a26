package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/devtools/loadgen"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// The e-card benchmarks run the real server (as serve wires it) over HTTP
// on a private PostgreSQL database: 64 holders with active cards, each
// bound to the channel with identity consent, 16 concurrent callers (16
// terminal clients, or 16 requests in flight for the channel). They report
// requests per second and latency percentiles measured by the callers
// (client → server → PostgreSQL → back). Run them with a fixed count:
//
//	go test ./cmd/cardledger -run '^$' -bench ECard -benchtime 2000x
const (
	benchHolders = 64
	benchWorkers = 16
)

func benchECardHarness(b *testing.B) (*ecardHarness, []string) {
	h := newECardHarness(b, nil)
	ctx := context.Background()
	for i := range benchWorkers {
		key, err := auth.Add(ctx, h.b.d.pool, auth.Client{Name: fmt.Sprintf("terminal-%02d", i), Role: httpapi.RoleTerminal,
			Agency: fmt.Sprintf("H%03d", i), Region: ecardHolderRegion})
		require.NoError(b, err)
		h.keys[fmt.Sprintf("terminal-%02d", i)] = key
	}
	holders := make([]string, benchHolders)
	birth := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range holders {
		idNo := seed.IDNumber(ecardHolderRegion, birth.AddDate(0, 0, i), i, domain.Female)
		name := fmt.Sprintf("李%d", i)
		holders[i], _ = h.addHolder(idNo, name)
		h.bindHolder("rsapp", idNo, name, domain.ConsentIdentity)
	}
	return h, holders
}

// run calls f n times from benchWorkers goroutines (worker w, call i) and
// returns each call's latency.
func benchRun(n int, f func(w, i int) error) ([]time.Duration, error) {
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for w := range benchWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				start := time.Now()
				err := f(w, i)
				lat[i] = time.Since(start)
				if err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return lat, first
}

func benchPost(h *ecardHarness, path, client string, body any, want int) ([]byte, error) {
	raw, _ := json.Marshal(body)
	req, err := http.NewRequest(http.MethodPost, h.b.srv.URL+path, bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+h.keys[client])
	res, err := ecardHTTP.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		return nil, fmt.Errorf("%s: %d %s", path, res.StatusCode, out)
	}
	return out, nil
}

func reportLatency(b *testing.B, lat []time.Duration, elapsed time.Duration, unit string) {
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), unit+"/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
}

// BenchmarkECardIssue: the channel makes b.N codes (PNG), 16 in flight:
// each loads the holder's stream, checks channel, binding and consent,
// signs, draws the QR and appends the access record (ChannelAccessed).
func BenchmarkECardIssue(b *testing.B) {
	h, holders := benchECardHarness(b)
	b.ResetTimer()
	start := time.Now()
	lat, err := benchRun(b.N, func(_, i int) error {
		_, err := benchPost(h, "/v1/ecard/codes", "rsapp", map[string]string{"cardholder_id": holders[i%len(holders)], "format": "png"}, http.StatusCreated)
		return err
	})
	elapsed := time.Since(start)
	b.StopTimer()
	require.NoError(b, err)
	reportLatency(b, lat, elapsed, "codes")
	reportBaseline(b, h)
}

// BenchmarkECardVerify: 16 terminals verify b.N codes made beforehand (not
// timed): each verification parses and checks the signature, reads the
// channel's stream and the holder's, claims the code id, appends the
// identity_auth usage record and runs the risk query.
func BenchmarkECardVerify(b *testing.B) {
	h, holders := benchECardHarness(b)
	codes := make([]string, b.N)
	_, err := benchRun(b.N, func(_, i int) error {
		out, err := benchPost(h, "/v1/ecard/codes", "rsapp", map[string]string{"cardholder_id": holders[i%len(holders)], "format": "png"}, http.StatusCreated)
		if err != nil {
			return err
		}
		var res struct {
			Code string `json:"code"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			return err
		}
		codes[i] = res.Code
		return nil
	})
	require.NoError(b, err)
	b.ResetTimer()
	start := time.Now()
	lat, err := benchRun(b.N, func(w, i int) error {
		_, err := benchPost(h, "/v1/ecard/verify", fmt.Sprintf("terminal-%02d", w), map[string]string{"code": codes[i]}, http.StatusOK)
		return err
	})
	elapsed := time.Since(start)
	b.StopTimer()
	require.NoError(b, err)
	reportLatency(b, lat, elapsed, "verifies")
	reportBaseline(b, h)
}

// reportBaseline runs the write side's comparison beside the figures: b.N
// single-row INSERTs, each its own transaction, 16 at a time, into the same
// database (a verification commits twice: the claim and the usage event).
func reportBaseline(b *testing.B, h *ecardHarness) {
	raw, err := loadgen.RawInsert(context.Background(), h.b.d.pool, b.N, benchWorkers)
	require.NoError(b, err)
	b.ReportMetric(raw.PerSecond, "raw-inserts/s")
	b.ReportMetric(float64(raw.P99.Microseconds())/1000, "raw-p99-ms")
}
