package analytics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/projections"
)

// analysesOf is what the analyses say over the whole test period.
type analysesOf struct {
	Stats     analytics.UsageStats
	Flows     []analytics.Flow
	Lifecycle []analytics.LifecycleMonth
}

func (s *system) analyses(ctx context.Context) analysesOf {
	s.t.Helper()
	q := analytics.NewQueries(s.ch)
	w := analytics.Window{From: time.Date(2024, 12, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)}
	var a analysesOf
	var err error
	if a.Stats, err = q.Stats(ctx, w); err != nil {
		s.t.Fatal(err)
	}
	if a.Flows, err = q.Flows(ctx, w); err != nil {
		s.t.Fatal(err)
	}
	if a.Lifecycle, err = q.Lifecycle(ctx, w); err != nil {
		s.t.Fatal(err)
	}
	return a
}

// diverge plants a divergence in the live tables: usage rows and a
// blacklist entry lost, and a stray usage row no event stands behind (at an
// old position, so crash recovery would not remove it).
func (s *system) diverge(ctx context.Context, holder person) {
	s.t.Helper()
	for _, stmt := range []string{
		`ALTER TABLE usage_facts DELETE WHERE record_id IN ('rb-0001', 'rb-0002', 'rb-0003')`,
		`ALTER TABLE card_events DELETE WHERE event = 'temporarily_lost'`,
	} {
		if err := s.ch.Exec(ctx, stmt); err != nil {
			s.t.Fatal(err)
		}
	}
	var stray analytics.UsageBlock
	stray.Add(uuid.New(), eventstore.Position{Commit: 1, Prepare: 1}, domain.UsageRecorded{
		RecordID: "stray", CardNo: holder.cardNo, At: time.Date(2025, 2, 3, 10, 0, 0, 0, time.UTC),
		Kind: domain.UsageMedicalSettlement, Amount: decimal.RequireFromString("99999.99"), RegionCode: holder.region,
		Channel: domain.ChannelCard,
	}, holder.id, holder.homeCity)
	if err := stray.Send(ctx, s.ch); err != nil {
		s.t.Fatal(err)
	}
	waitNoMutations(s.t.(*testing.T), s)
}

// eventsInStore counts the events of the global log.
func (s *system) eventsInStore(ctx context.Context) uint64 {
	s.t.Helper()
	var n uint64
	after := eventstore.Start
	for {
		page, err := s.store.ReadAll(ctx, after, 5000)
		if err != nil {
			s.t.Fatal(err)
		}
		if len(page) == 0 {
			return n
		}
		n += uint64(len(page))
		after = page[len(page)-1].Position
	}
}

// leftOverTables lists rebuild copies and replaced tables still there.
func (s *system) leftOverTables(ctx context.Context) []string {
	s.t.Helper()
	rows, err := s.ch.Query(ctx, `SELECT name FROM system.tables WHERE database = currentDatabase()
		AND (endsWith(name, '_rebuild') OR endsWith(name, '_replaced')) ORDER BY name`)
	if err != nil {
		s.t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			s.t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func (s *system) rebuildRunner(conn driver.Conn) *projections.Runner {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return projections.NewRunner(s.store, testpg.NewPool(s.t, s.pgURL), log).
		AddWithOptions(analytics.RunnerOptions(), analytics.NewProjection(conn, s.chOpts...))
}

// `cardledger projections rebuild clickhouse-analytics`: the runner
// rebuilds the ClickHouse tables from the log and swaps them in. A
// divergence planted in the live tables is gone, the analyses say exactly
// what they said before it, and the projection carries on on the new tables.
func TestRebuildRemovesADivergencePlantedInTheLiveTables(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := newSystem(t)
	a, b := s.register(11, "320505"), s.register(12, "320102")
	s.card(b.cardNo, domain.ReportTemporaryLoss{CardNo: b.cardNo})
	rng := rand.New(rand.NewPCG(21, 22))
	s.ingest(randomUsage(rng, "rb", 200, []string{a.cardNo, b.cardNo}))
	s.project()
	want := s.analyses(ctx)
	if want.Stats.Count != 200 {
		t.Fatalf("before: %d uses, want 200", want.Stats.Count)
	}
	cp, err := s.proj.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}

	s.diverge(ctx, a)
	if got := s.analyses(ctx); reflect.DeepEqual(got, want) {
		t.Fatal("the planted divergence changed no analysis")
	}

	var reports []projections.RebuildProgress
	st, err := s.rebuildRunner(s.ch).RebuildWith(ctx, analytics.ProjectionName, projections.RebuildOptions{
		Progress: func(p projections.RebuildProgress) { reports = append(reports, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if events := s.eventsInStore(ctx); st.Events != events {
		t.Errorf("rebuilt from %d events, the log holds %d", st.Events, events)
	}
	if len(reports) == 0 || reports[len(reports)-1].Events != st.Events || reports[len(reports)-1].Position != cp {
		t.Errorf("progress %+v, want the last report at %d events, position %s", reports, st.Events, cp)
	}
	if got := s.analyses(ctx); !reflect.DeepEqual(got, want) {
		t.Errorf("after rebuild:\n%+v\nwant\n%+v", got, want)
	}
	var stray uint64
	if err := s.ch.QueryRow(ctx, `SELECT count() FROM usage_facts WHERE record_id = 'stray'`).Scan(&stray); err != nil {
		t.Fatal(err)
	}
	if stray != 0 || s.count("usage_facts") != 200 {
		t.Errorf("after rebuild: %d stray rows, %d usage rows; want 0 and 200", stray, s.count("usage_facts"))
	}
	if got, err := s.proj.Checkpoint(ctx); err != nil || got != cp {
		t.Errorf("checkpoint after rebuild %s (%v), want %s", got, err, cp)
	}
	if left := s.leftOverTables(ctx); len(left) != 0 {
		t.Errorf("tables left over: %v", left)
	}

	// The live projection of this process reloads from the new tables.
	s.ingest(randomUsage(rng, "after", 30, []string{a.cardNo}))
	s.project()
	if got := s.count("usage_facts"); got != 230 {
		t.Fatalf("after more usage: %d rows, want 230", got)
	}
}

// renameFault drops one rebuilt table just before the swap's RENAME, so
// that the RENAME fails part-way (on 18.16 the renames before the failing
// one stay done).
type renameFault struct {
	driver.Conn
	armed atomic.Bool
}

func (f *renameFault) Exec(ctx context.Context, query string, args ...any) error {
	if strings.HasPrefix(query, "RENAME TABLE") && f.armed.CompareAndSwap(true, false) {
		if err := f.Conn.Exec(ctx, "DROP TABLE cards_rebuild"); err != nil {
			return fmt.Errorf("fault injection: %w", err)
		}
	}
	return f.Conn.Exec(ctx, query, args...)
}

// A swap that fails leaves the live tables serving as they were, with no
// half-swapped table, and the next rebuild succeeds.
func TestAFailedSwapKeepsTheLiveTables(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s := newSystem(t)
	a, b := s.register(13, "320505"), s.register(14, "320102")
	s.card(b.cardNo, domain.ReportTemporaryLoss{CardNo: b.cardNo})
	s.ingest(randomUsage(rand.New(rand.NewPCG(23, 24)), "rb", 100, []string{a.cardNo, b.cardNo}))
	s.project()
	want := s.analyses(ctx)
	s.diverge(ctx, a)
	diverged := s.analyses(ctx)

	fault := &renameFault{Conn: s.ch}
	fault.armed.Store(true)
	_, err := s.rebuildRunner(fault).Rebuild(ctx, analytics.ProjectionName)
	if err == nil || !strings.Contains(err.Error(), "live tables kept") {
		t.Fatalf("rebuild with a failing swap: %v, want the swap's error", err)
	}
	if got := s.analyses(ctx); !reflect.DeepEqual(got, diverged) {
		t.Errorf("after the failed swap:\n%+v\nwant the live tables as they were\n%+v", got, diverged)
	}
	// Neither the replaced tables nor the shadow copies (personal data)
	// outlive the failed rebuild.
	if left := s.leftOverTables(ctx); len(left) > 0 {
		t.Errorf("%v left after the failed swap", left)
	}

	if _, err := s.rebuildRunner(s.ch).Rebuild(ctx, analytics.ProjectionName); err != nil {
		t.Fatal(err)
	}
	if got := s.analyses(ctx); !reflect.DeepEqual(got, want) {
		t.Errorf("after the second rebuild:\n%+v\nwant\n%+v", got, want)
	}
}

// A rebuild cancelled mid-load drops its copies; copies a crashed rebuild
// left are dropped by DropLeftoverShadows (migrate).
func TestCancelledRebuildDropsItsCopies(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newSystem(t)
	a := s.register(15, "320505")
	s.ingest(randomUsage(rand.New(rand.NewPCG(25, 26)), "cx", 50, []string{a.cardNo}))
	s.project()

	rebuildCtx, stop := context.WithCancel(ctx)
	loaded := false
	_, err := s.rebuildRunner(s.ch).RebuildWith(rebuildCtx, analytics.ProjectionName, projections.RebuildOptions{
		Progress: func(projections.RebuildProgress) { loaded = true; stop() },
	})
	if err == nil || !loaded {
		t.Fatalf("cancelled rebuild: err %v, loaded %v", err, loaded)
	}
	if left := s.leftOverTables(ctx); len(left) > 0 {
		t.Errorf("%v left after the cancelled rebuild", left)
	}

	if err := s.ch.Exec(ctx, "CREATE TABLE holders_rebuild AS holders"); err != nil {
		t.Fatal(err)
	}
	if err := s.rebuildRunner(s.ch).DropLeftoverShadows(ctx); err != nil {
		t.Fatal(err)
	}
	if left := s.leftOverTables(ctx); len(left) > 0 {
		t.Errorf("%v left after DropLeftoverShadows", left)
	}
}

// The rebuild holds the projection's single-active lock: while another
// instance runs the projection, it waits and touches nothing.
func TestRebuildWaitsForTheProjectionsLock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newSystem(t)
	s.register(15, "320505")
	log := logrus.New()
	log.SetOutput(io.Discard)
	live := analytics.NewProjection(s.ch)
	running := projections.NewRunner(s.store, testpg.NewPool(t, s.pgURL), log).
		AddWithOptions(analytics.RunnerOptions(), live)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- running.Run(runCtx) }()
	defer func() { stop(); <-done }()
	waitStored(t, ctx, live, s.lastWritten())

	r := s.rebuildRunner(s.ch)
	wctx, wcancel := context.WithTimeout(ctx, 800*time.Millisecond) // under LockPoll (1 s): one try
	defer wcancel()
	_, err := r.Rebuild(wctx, analytics.ProjectionName)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("rebuild while another instance runs the projection: %v, want it to wait for the lock", err)
	}
	if left := s.leftOverTables(ctx); len(left) != 0 {
		t.Errorf("the waiting rebuild created %v", left)
	}
}
