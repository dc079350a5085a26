// Package testpg gives each test its own fresh PostgreSQL database on the
// server named by CARDLEDGER_TEST_POSTGRES_URL (default: the local server,
// user postgres), and drops it when the test ends. Tests never share tables,
// so packages can run in parallel.
package testpg

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultServerURL is used when CARDLEDGER_TEST_POSTGRES_URL is unset.
const DefaultServerURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// ServerURL is the admin URL of the test server.
func ServerURL() string {
	if u := os.Getenv("CARDLEDGER_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return DefaultServerURL
}

// NewDatabase creates an empty database and returns its URL. The database is
// dropped (with any open connections) when t ends, with the sandbox
// database a server made beside it.
func NewDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, ServerURL())
	if err != nil {
		t.Fatalf("testpg: connect %s: %v (is PostgreSQL running? `make services` starts it)", ServerURL(), err)
	}
	defer admin.Close(ctx)
	name := "cltest_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testpg: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, ServerURL())
		if err != nil {
			t.Logf("testpg: drop %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		// The server's open-platform sandbox makes "<name>_sandbox" on first
		// use (config.SandboxURLOf); it goes with its database.
		for _, db := range []string{name, name + "_sandbox"} {
			if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+db+" WITH (FORCE)"); err != nil {
				t.Logf("testpg: drop %s: %v", db, err)
			}
		}
	})
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	u.Path = "/" + name
	// Callers append "&pool_max_conns=…": the URL always carries a query.
	if u.RawQuery == "" {
		u.RawQuery = "sslmode=disable"
	}
	return u.String()
}

// MustExec runs sql on the database at dbURL, failing t on error.
func MustExec(t testing.TB, dbURL, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("testpg: %s: %v", fmt.Sprint(sql), err)
	}
}

// NewPool opens a pgx pool on the database at dbURL and closes it when t ends.
func NewPool(t testing.TB, dbURL string) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// ReadServerURL is the admin URL of a streaming replica of the test server
// (CARDLEDGER_TEST_POSTGRES_READ_URL; `make test` makes one with
// `scripts/services.sh pg-replica`), or "" when there is none.
func ReadServerURL() string { return os.Getenv("CARDLEDGER_TEST_POSTGRES_READ_URL") }

// ReplicaDatabase is the URL, on the replica, of the database dbURL names
// on the test server. It returns once the replica has replayed everything
// the test server had written when it was called: the database exists
// there, with the tables made so far. t fails without a replica.
func ReplicaDatabase(t testing.TB, dbURL string) string {
	t.Helper()
	if ReadServerURL() == "" {
		t.Fatal("testpg: CARDLEDGER_TEST_POSTGRES_READ_URL is not set")
	}
	u, err := url.Parse(ReadServerURL())
	if err != nil {
		t.Fatalf("testpg: CARDLEDGER_TEST_POSTGRES_READ_URL: %v", err)
	}
	db, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	u.Path = db.Path
	WaitReplica(t, dbURL)
	return u.String()
}

// WaitReplica waits (up to 30 s) until the replica has replayed everything
// the test server has written so far, e.g. a read model a test made
// without the projection's checkpoint saying so. "Written" is the WAL
// insert position: with synchronous_commit off (the dev cluster) a commit
// returns before its record is written out, let alone sent.
func WaitReplica(t testing.TB, dbURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var lsn string
	if err := queryRow(ctx, dbURL, "SELECT pg_current_wal_insert_lsn()::text", &lsn); err != nil {
		t.Fatalf("testpg: primary WAL position: %v", err)
	}
	replica, err := pgx.Connect(ctx, ReadServerURL())
	if err != nil {
		t.Fatalf("testpg: connect to the replica: %v", err)
	}
	defer replica.Close(context.Background())
	for {
		var done bool
		err := replica.QueryRow(ctx, "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn", lsn).Scan(&done)
		if err == nil && done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("testpg: the replica has not replayed the primary's WAL up to %s in 30 s (last error: %v)", lsn, err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func queryRow(ctx context.Context, dbURL, sql string, dest any) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, sql).Scan(dest)
}
