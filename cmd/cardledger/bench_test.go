package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/testpg"
)

// TestBenchHTTPPrintsItsFigures runs `bench http` tiny against a server it
// starts in-process and checks the lines the README quotes.
func TestBenchHTTPPrintsItsFigures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "error"}
	settle, idle := statsSettle, idleSpell
	statsSettle, idleSpell = 100*time.Millisecond, 100*time.Millisecond // the figures are not checked, only their shape
	defer func() { statsSettle, idleSpell = settle, idle }()
	mem := filepath.Join(t.TempDir(), "allocs.pprof")
	code, out, errOut := cliRun(ctx, vars, "bench", "http", "-n", "20", "-concurrency", "2", "--cards", "3", "--hot-share", "0.2",
		"--count", "6", "--memprofile", mem)
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, line := range []string{
		`(?m)^server: started in this process on http://127\.0\.0\.1:\d+ \(serve, projections=true, audit, idempotency, authentication; database .*\)$`,
		`(?m)^set-up: 4 active cards over HTTP$`,
		`(?m)^raw single-row INSERT +20 ops in .* ops/s +p50 .* p99 .* errors 0$`,
		`(?m)^load: 20 temporary-loss/unlock commands, 2 clients on distinct cards, hot-card share 0\.20$`,
		`(?m)^commands over HTTP +\d+ commands in \S+: \d+ commands/s, p50 [\d.]+ ms, p99 [\d.]+ ms, p99\.9 [\d.]+ ms, max [\d.]+ ms; \d+ rejected \(4xx\), 0 errors$`,
		`(?m)^CPU of this process during the load \(user\+system, server and bench clients\): \d+ ms, \d+\.\d{3} ms per command$`,
		`(?m)^commands/s ÷ raw inserts/s = \d+\.\d\d$`,
		`(?m)^loss → visible in the blacklist feed: [1-9]\d* losses, p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms, 0 not seen within 5 s$`,
		`(?m)^projections during the load, events per batch \(one transaction each\): (\w+ [\d.]+(, )?)+$`,
		`(?m)^cost per command: 6 commands sent one at a time in \S+ \([\d.]+ ms each\), projections=true; the idle server's counters over as long subtracted$`,
		`(?m)^  database: -?[\d.]+ commits, -?[\d.]+ rollbacks, -?[\d.]+ rows inserted, -?[\d.]+ updated, -?[\d.]+ deleted, -?[\d.]+ fetched, -?[\d.]+ returned$`,
		`(?m)^  projection readmodel +-?[\d.]+ batches \(transactions\), -?[\d.]+ events applied$`,
	} {
		assert.Regexp(t, regexp.MustCompile(line), out)
	}
	for _, f := range []string{mem + ".base", mem} {
		st, err := os.Stat(f)
		if assert.NoError(t, err, "--memprofile") {
			assert.Positive(t, st.Size(), f)
		}
	}

	code, _, errOut = cliRun(ctx, vars, "bench", "http", "--hot-share", "2")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--hot-share must be between 0 and 1")
}

// TestBenchStorePrintsItsFigures runs `bench store` tiny: the raw baseline,
// the append alone, and the read-then-append a command does.
func TestBenchStorePrintsItsFigures(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "error"}
	code, out, errOut := cliRun(ctx, vars, "bench", "store", "-n", "20", "-concurrency", "2")
	require.Equal(t, 0, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	for _, line := range []string{
		`(?m)^raw single-row INSERT +20 ops in .* ops/s +p50 .* p99 .* errors 0$`,
		`(?m)^event store append \(1 event\) +20 ops in .* ops/s +p50 .* p99 .* errors 0$`,
		`(?m)^event store read\+append \(1 event\) +20 ops in .* ops/s +p50 .* p99 .* errors 0$`,
	} {
		assert.Regexp(t, regexp.MustCompile(line), out)
	}
}
