package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/testpg"
)

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	url := testpg.NewDatabase(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, url
}

func event(typ string) eventstore.EventData {
	return eventstore.EventData{ID: uuid.New(), Type: typ, Data: []byte(`{}`)}
}

// An append that takes its position first but commits last must not be
// skipped by $all readers, and nothing after it may be delivered before it.
func TestEarlierPositionCommittingLaterIsNotSkipped(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, url := openTest(t)

	var (
		mu        sync.Mutex
		delivered []uuid.UUID
	)
	subCtx, stopSub := context.WithCancel(ctx)
	subDone := make(chan error, 1)
	go func() {
		subDone <- s.SubscribeAll(subCtx, eventstore.Start, func(e eventstore.RecordedEvent) error {
			mu.Lock()
			defer mu.Unlock()
			delivered = append(delivered, e.ID)
			return nil
		})
	}()
	deliveredNow := func() []uuid.UUID {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(delivered)
	}

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	early := event("Early")
	earlyRes, _, err := appendOnce(ctx, tx, nil, nil, nil, "early", eventstore.NoStream(), []eventstore.EventData{early})
	if err != nil {
		t.Fatal(err)
	}

	late := event("Late")
	lateRes, err := s.Append(ctx, "late", eventstore.NoStream(), []eventstore.EventData{late})
	if err != nil {
		t.Fatal(err)
	}
	if !earlyRes.Position.Less(lateRes.Position) {
		t.Fatalf("held append at %s is not before the committed one at %s", earlyRes.Position, lateRes.Position)
	}

	// The later event is committed: its stream shows it, $all does not yet.
	if got, err := s.ReadStream(ctx, "late", 0, 0); err != nil || len(got) != 1 {
		t.Fatalf("ReadStream(late) = %d events, %v; want the committed event", len(got), err)
	}
	if got, err := s.ReadAll(ctx, eventstore.Start, 0); err != nil || len(got) != 0 {
		t.Fatalf("ReadAll while an earlier append is open = %d events, %v; want none", len(got), err)
	}
	if h, ok, err := s.Head(ctx); err != nil || ok {
		t.Fatalf("Head while an earlier append is open = %+v, %v, %v; want none", h, ok, err)
	}
	time.Sleep(3 * pollInterval)
	if got := deliveredNow(); len(got) != 0 {
		t.Fatalf("subscriber got %v while an earlier append was open, want nothing", got)
	}

	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	want := []uuid.UUID{early.ID, late.ID}
	deadline := time.Now().Add(10 * time.Second)
	for len(deliveredNow()) < len(want) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := deliveredNow(); !slices.Equal(got, want) {
		t.Errorf("subscriber got %v, want %v (early first)", got, want)
	}
	all, err := s.ReadAll(ctx, eventstore.Start, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []uuid.UUID
	for _, e := range all {
		got = append(got, e.ID)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ReadAll = %v, want %v", got, want)
	}
	stopSub()
	if err := <-subDone; err != context.Canceled {
		t.Errorf("SubscribeAll ended with %v", err)
	}
}

// A write transaction of another database cannot write events, so it must
// not hold $all back however long it runs.
func TestOtherDatabaseTransactionDoesNotHoldBackAll(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, _ := openTest(t)
	other, err := pgx.Connect(ctx, testpg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(context.Background())
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	var otherXID uint64
	if err := tx.QueryRow(ctx, "SELECT pg_current_xact_id()").Scan(&otherXID); err != nil {
		t.Fatal(err)
	}

	e := event("Appended")
	res, err := s.Append(ctx, "card-1", eventstore.NoStream(), []eventstore.EventData{e})
	if err != nil {
		t.Fatal(err)
	}
	if res.Position.Commit <= otherXID {
		t.Fatalf("append xid %d not after the open transaction's %d", res.Position.Commit, otherXID)
	}
	// Other test packages may briefly hold transactions of this database's
	// cluster too, so allow a moment, but far less than forever.
	deadline := time.Now().Add(5 * time.Second)
	for {
		all, err := s.ReadAll(ctx, eventstore.Start, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) == 1 && all[0].ID == e.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ReadAll = %d events while another database's transaction %d is open; want the appended one", len(all), otherXID)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if h, ok, err := s.Head(ctx); err != nil || !ok || h.Position != res.Position {
		t.Errorf("Head = %+v, %v, %v; want %s", h, ok, err, res.Position)
	}
}

// A $all read looks at pg_stat_activity (a row built for every backend of
// the cluster) only when a row after its position lies at or above the
// oldest running transaction: not when it finds nothing new, the common read
// of a caught-up subscription woken by an append, nor when every row after
// it lies below.
func TestAllReadsBelowTheOldestTransactionSkipTheActivityLookup(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, _ := openTest(t)
	otherURL := testpg.NewDatabase(t)
	// runningTx starts a transaction of another database that has an xid,
	// and ends one after it, so that the reads' snapshots must place it
	// (running xids newer than the last one to finish are not in a
	// snapshot's list, and with none to place PostgreSQL skips the lookup
	// whatever the query).
	runningTx := func() pgx.Tx {
		t.Helper()
		conn, err := pgx.Connect(ctx, otherURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) })
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.pool.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil {
			t.Fatal(err)
		}
		return tx
	}
	looksAtActivity := func(after eventstore.Position) bool {
		t.Helper()
		rows, err := s.pool.Query(ctx, "EXPLAIN (ANALYZE, COSTS off) "+readAllSQL,
			after.Commit, int64(after.Prepare), int64(subscribeBatch))
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			if strings.Contains(l, "pg_stat_get_activity") {
				return !strings.Contains(l, "never executed")
			}
		}
		t.Fatalf("no pg_stat_activity lookup in the plan:\n%s", strings.Join(lines, "\n"))
		return false
	}

	first, err := s.Append(ctx, "card-1", eventstore.NoStream(), []eventstore.EventData{event("First")})
	if err != nil {
		t.Fatal(err)
	}
	tx := runningTx()
	second, err := s.Append(ctx, "card-1", eventstore.Exact(0), []eventstore.EventData{event("Second")})
	if err != nil {
		t.Fatal(err)
	}
	if looksAtActivity(second.Position) {
		t.Error("a read that finds nothing new looked at pg_stat_activity")
	}
	// Only the lookup can tell that the transaction running below the
	// second event belongs to another database.
	if !looksAtActivity(first.Position) {
		t.Error("a read of an event above a running transaction did not look at pg_stat_activity")
	}

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	runningTx()
	// Both events are below the oldest running transaction as soon as every
	// transaction older than them has ended (other test packages may hold
	// some of this cluster's for a moment).
	deadline := time.Now().Add(5 * time.Second)
	for looksAtActivity(eventstore.Start) {
		if time.Now().After(deadline) {
			t.Fatal("a read of events below every running transaction looks at pg_stat_activity")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A read of $all never scans the event table: a caught-up subscription's
// read (nothing new) touches a few index pages whatever the table holds,
// statistics or none. Asked as "is any later row at or above xmin",
// PostgreSQL without statistics scanned the whole table sequentially for
// it, on every live read.
func TestCaughtUpAllReadScansNoTable(t *testing.T) {
	ctx := t.Context()
	s, _ := openTest(t)
	appends := make([]eventstore.StreamAppend, 0, 500)
	for i := range cap(appends) {
		appends = append(appends, eventstore.StreamAppend{Stream: fmt.Sprintf("card-%d", i), Expected: eventstore.NoStream(),
			Events: []eventstore.EventData{event("A"), event("B"), event("C"), event("D")}})
	}
	for range 4 { // 8,000 events
		for i := range appends {
			for j := range appends[i].Events {
				appends[i].Events[j].ID = uuid.New()
			}
			appends[i].Stream += "x"
		}
		if _, err := s.AppendMany(ctx, appends); err != nil {
			t.Fatal(err)
		}
	}
	// No ANALYZE: a new database's table has no statistics for minutes
	// (until autovacuum comes by), and the reads must not need them.
	head, ok, err := s.Head(ctx)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "SET plan_cache_mode = "+mode); err != nil {
			t.Fatal(err)
		}
		rows, err := conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS off) "+readAllSQL,
			head.Position.Commit, int64(head.Position.Prepare), int64(subscribeBatch))
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if _, rerr := conn.Exec(ctx, "RESET plan_cache_mode"); rerr != nil {
			t.Fatal(rerr)
		}
		conn.Release()
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if strings.Contains(plan, "Seq Scan on eventstore_events") {
			t.Errorf("%s: a caught-up read of $all scans the table:\n%s", mode, plan)
		}
	}
}
