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
// dropped (with any open connections) when t ends.
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
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("testpg: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(ServerURL())
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	u.Path = "/" + name
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
