// Package chtest gives tests a private ClickHouse server and a fresh database
// per test.
//
// Main (called from TestMain) starts a server with
// scripts/clickhouse/ch-private.sh in a temporary folder on free ports, or
// uses the server named by CARDLEDGER_TEST_CLICKHOUSE_URL, runs the tests and
// stops the server it started. Without clickhouse-server on the machine the
// tests that need it skip, unless CARDLEDGER_REQUIRE_CLICKHOUSE=1 (make test
// sets it), which makes them fail instead.
package chtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/analytics"
)

// URLEnv names the server the tests use; Main sets it when it starts one.
const URLEnv = "CARDLEDGER_TEST_CLICKHOUSE_URL"

const serverBinary = "/usr/sbin/clickhouse-server"

// Main starts a private server if needed, runs m and stops the server.
func Main(m *testing.M) int {
	if os.Getenv(URLEnv) != "" {
		return m.Run()
	}
	if _, err := os.Stat(serverBinary); err != nil {
		if os.Getenv("CARDLEDGER_REQUIRE_CLICKHOUSE") == "1" {
			fmt.Fprintf(os.Stderr, "chtest: %s missing and CARDLEDGER_REQUIRE_CLICKHOUSE=1\n", serverBinary)
			return 1
		}
		return m.Run() // NewDatabase skips
	}
	dir, err := os.MkdirTemp("", "cardledger-ch-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "chtest:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	script, err := scriptPath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "chtest:", err)
		return 1
	}
	var out []byte
	for attempt := 0; attempt < 2; attempt++ { // picking a free port is racy: retry once
		out, err = exec.Command(script, "start", dir).Output()
		if err == nil {
			break
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chtest: start clickhouse: %v\n", err)
		return 1
	}
	fields := strings.Fields(string(out))
	if len(fields) != 3 {
		fmt.Fprintf(os.Stderr, "chtest: unexpected start output %q\n", out)
		return 1
	}
	defer func() {
		if err := exec.Command(script, "stop", dir).Run(); err != nil {
			fmt.Fprintln(os.Stderr, "chtest: stop clickhouse:", err)
		}
		waitGone(fields[0])
	}()
	os.Setenv(URLEnv, "clickhouse://127.0.0.1:"+fields[1]+"/default")
	return m.Run()
}

// waitGone waits for the server process to exit so that its folder can go.
func waitGone(pid string) {
	for i := 0; i < 100; i++ {
		if _, err := os.Stat("/proc/" + pid); err != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scriptPath finds scripts/clickhouse/ch-private.sh above the working directory.
func scriptPath() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "scripts", "clickhouse", "ch-private.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("scripts/clickhouse/ch-private.sh not found above the working directory")
		}
		dir = parent
	}
}

// NewDatabase creates an empty, migrated database for t and returns its URL;
// the database is dropped when t ends. It skips t when no server is there
// (see the package doc).
func NewDatabase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(URLEnv)
	if base == "" {
		if os.Getenv("CARDLEDGER_REQUIRE_CLICKHOUSE") == "1" {
			t.Fatal("chtest: no ClickHouse server (is chtest.Main in TestMain?)")
		}
		t.Skip("chtest: clickhouse-server is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := analytics.Open(ctx, base)
	if err != nil {
		t.Fatalf("chtest: %v", err)
	}
	defer admin.Close()
	name := "cltest_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	if err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("chtest: create database: %v", err)
	}
	t.Cleanup(func() {
		// Dropping a benchmark's millions of rows takes a while on a busy machine.
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		admin, err := analytics.Open(ctx, base)
		if err != nil {
			t.Logf("chtest: drop %s: %v", name, err)
			return
		}
		defer admin.Close()
		if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Logf("chtest: drop %s: %v", name, err)
		}
	})
	url := strings.TrimSuffix(base, "/default") + "/" + name
	conn, err := analytics.Open(ctx, url)
	if err != nil {
		t.Fatalf("chtest: %v", err)
	}
	defer conn.Close()
	if err := analytics.Migrate(ctx, conn); err != nil {
		t.Fatalf("chtest: %v", err)
	}
	return url
}
