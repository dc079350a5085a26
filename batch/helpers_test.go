package batch

import (
	"context"
	"fmt"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/testpg"
)

var testIDKey = []byte("batch-test-key-0123456789abcdef")

// testClock is a fixed instant, so dates in files and events are known.
func testClock() time.Time { return time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC) }

type env struct {
	store eventstore.Store
	pool  *pgxpool.Pool
	cmds  *commands.Service
	dbURL string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return openEnv(t, testpg.NewDatabase(t)+"&pool_max_conns=20")
}

// openEnv connects to an existing database (a child process uses the parent's).
func openEnv(t testing.TB, url string) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := pgstoretest.OpenURL(t, url)
	pool := testpg.NewPool(t, url)
	cmds, err := commands.NewService(store, testIDKey, testClock)
	if err != nil {
		t.Fatal(err)
	}
	if err := NewReadModel(pool).Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := MigrateImportJobs(ctx, pool); err != nil {
		t.Fatal(err)
	}
	return &env{store: store, pool: pool, cmds: cmds, dbURL: url}
}

func (e *env) service(t testing.TB) *Service {
	t.Helper()
	s, err := New(Deps{Store: e.store, Pool: e.pool, Commands: e.cmds, IDKey: testIDKey, Clock: testClock,
		Actor: domain.Actor{Client: "batch-test"}, Workers: 16})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// idNumber makes a valid ID number for person n born in the 1980s in region.
func idNumber(region string, n int) string {
	birth := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n%3650)
	first := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), n/3650%1000)
	return first + string(domain.IDCheckChar(first))
}

// people makes n valid application rows in region 320505 (community by n%5).
func people(n, offset int) []files.ApplicationRow {
	rows := make([]files.ApplicationRow, n)
	for i := range rows {
		k := offset + i
		rows[i] = files.ApplicationRow{
			IDNumber: idNumber("320505", k), Name: fmt.Sprintf("测试%05d", k), Nationality: "CHN",
			RegionCode: "320505", EmployerCode: fmt.Sprintf("E%03d", k%7), CommunityCode: fmt.Sprintf("C%d", k%5),
			BankCode: "ICBC", PhotoRef: fmt.Sprintf("photo/%05d.jpg", k),
		}
	}
	return rows
}

// head is the newest committed event's position (pgstoretest.CommittedHead).
func head(t testing.TB, e *env) eventstore.Position {
	t.Helper()
	return pgstoretest.CommittedHead(t, e.pool)
}

// eventCount counts every event in the store, committed or not yet visible in $all.
func eventCount(t testing.TB, e *env) int64 {
	t.Helper()
	var n int64
	if err := e.pool.QueryRow(context.Background(), "SELECT count(*) FROM eventstore_events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
