package analytics_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

func (s *system) count(table string) uint64 {
	s.t.Helper()
	var n uint64
	if err := s.ch.QueryRow(context.Background(), "SELECT count() FROM "+table).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *system) ingest(records []domain.UsageInput) {
	s.t.Helper()
	if rec := s.do(http.MethodPost, "/v1/usage", bankKey, analytics.UsageRequest{Records: records}); rec.Code != http.StatusOK {
		s.t.Fatalf("POST /v1/usage: %d %s", rec.Code, rec.Body.String())
	}
}

// A crash after a batch's rows reached ClickHouse but before its checkpoint
// did must not leave those rows twice once the batch is applied again.
func TestProjectionRepeatsNoRowAfterACrashBeforeTheCheckpoint(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newSystem(t)
	p := s.register(1, "320505")
	rng := rand.New(rand.NewPCG(3, 4))
	s.ingest(randomUsage(rng, "x", 100, []string{p.cardNo}))
	s.project()
	s.ingest(randomUsage(rng, "y", 50, []string{p.cardNo}))

	// Apply the second batch, then lose its checkpoint as a crash would.
	cp, err := s.proj.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var batch []eventstore.RecordedEvent
	for len(batch) == 0 || batch[len(batch)-1].Position.Less(s.lastWritten()) {
		if batch, err = s.store.ReadAll(ctx, cp, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.proj.Apply(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.ch.Exec(ctx, `ALTER TABLE projection_checkpoints DELETE WHERE seq = (SELECT max(seq) FROM projection_checkpoints)`); err != nil {
		t.Fatal(err)
	}
	waitNoMutations(t, s)
	if got := s.count("usage_facts"); got != 150 {
		t.Fatalf("before restart: %d rows, want 150", got)
	}

	// A new process starts from the older checkpoint and applies the batch again.
	restarted := analytics.NewProjection(s.ch)
	pos, err := restarted.Recover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if pos != cp {
		t.Fatalf("checkpoint after crash %s, want %s", pos, cp)
	}
	if got := s.count("usage_facts"); got != 100 {
		t.Fatalf("after cleanup: %d rows, want 100", got)
	}
	if err := restarted.Apply(ctx, batch); err != nil {
		t.Fatal(err)
	}
	// And a batch handed over twice is skipped the second time.
	if err := restarted.Apply(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if got := s.count("usage_facts"); got != 150 {
		t.Fatalf("after replay: %d rows, want 150", got)
	}
	var distinct uint64
	if err := s.ch.QueryRow(ctx, "SELECT uniqExact(event_id) FROM usage_facts").Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	if distinct != 150 {
		t.Fatalf("%d distinct events, want 150", distinct)
	}
}

func waitNoMutations(t *testing.T, s *system) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var n uint64
		if err := s.ch.QueryRow(context.Background(),
			`SELECT count() FROM system.mutations WHERE database = currentDatabase() AND is_done = 0`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("mutations did not finish")
}

// The projection runs under the shared projections.Runner, and usage
// reported while it runs shows up in ClickHouse.
func TestProjectionRunsUnderTheSharedRunner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newSystem(t)
	p := s.register(2, "320102")
	pool, err := pgxpool.New(ctx, s.pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	log := logrus.New()
	log.SetOutput(io.Discard)
	runner := projections.NewRunner(s.store, pool, log).WithOptions(analytics.RunnerOptions()).Add(s.proj)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runner.Run(runCtx) }()
	defer func() { stop(); <-done }()

	s.ingest(randomUsage(rand.New(rand.NewPCG(5, 6)), "r", 300, []string{p.cardNo}))
	for {
		pos, _, _ := s.proj.Stored()
		if !pos.Less(s.lastWritten()) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("only %d of 300 rows arrived", s.count("usage_facts"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := s.count("usage_facts"); got != 300 {
		t.Fatalf("%d rows, want 300", got)
	}
	lag, err := analytics.ProjectionLag(s.store, s.ch)(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if lag.Checkpoint != s.lastWritten().String() {
		t.Fatalf("lag %+v, want checkpoint %s", lag, s.lastWritten())
	}
}

func TestMigrationEnumsFollowTheDomain(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := newSystem(t)
	var kinds, channels []string
	for _, k := range domain.UsageKinds() {
		kinds = append(kinds, string(k))
	}
	for _, c := range domain.UsageChannels() {
		channels = append(channels, string(c))
	}
	for column, values := range map[string][]string{"kind": kinds, "channel": channels} {
		var typ string
		if err := s.ch.QueryRow(ctx, `SELECT type FROM system.columns
			WHERE database = currentDatabase() AND table = 'usage_facts' AND name = ?`, column).Scan(&typ); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for i, v := range values {
			parts = append(parts, "'"+v+"' = "+strconv.Itoa(i+1))
		}
		if want := "Enum8(" + strings.Join(parts, ", ") + ")"; typ != want {
			t.Errorf("%s is %s, want %s", column, typ, want)
		}
	}
}
