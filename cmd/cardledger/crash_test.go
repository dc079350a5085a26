package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// envCrashServer makes the test binary run `cardledger serve` (with the
// rest of its configuration from the environment) in TestCrashServerChild.
const envCrashServer = "CARDLEDGER_TEST_CRASH_SERVER"

// TestCrashServerChild is `cardledger serve` in a process of its own, for
// TestIdempotencyKeyAfterAServerCrash to SIGKILL.
func TestCrashServerChild(t *testing.T) {
	if os.Getenv(envCrashServer) == "" {
		t.Skip("runs only as a child process")
	}
	env := &environment{stdout: os.Stderr, stderr: os.Stderr, getenv: os.Getenv}
	t.Fatalf("serve returned %d", run(context.Background(), env, []string{"serve"}))
}

// A server is SIGKILLed while it runs a command sent with an
// Idempotency-Key, once before the command's events reach the store and once
// after, before its answer is stored. A retry against a restarted server must
// get the command's outcome at once (not 409 idempotency_key_in_flight until
// the dead claim goes stale), and the command must have happened exactly
// once. The commands are held at those points by locks this test takes, the
// way a long maintenance transaction would hold them.
func TestIdempotencyKeyAfterAServerCrash(t *testing.T) {
	if os.Getenv(envCrashServer) != "" {
		t.Skip("child process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dbURL := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL, "CARDLEDGER_LOG_LEVEL": "warn", "CARDLEDGER_PROJECTIONS": "false"}
	getenv := func(k string) string { return vars[k] }
	require.Equal(t, 0, run(ctx, &environment{stdout: io.Discard, stderr: io.Discard, getenv: getenv}, []string{"migrate"}))
	d, err := parseConfig(&environment{stderr: io.Discard, getenv: getenv}, flag.NewFlagSet("test", flag.ContinueOnError), nil)
	require.NoError(t, err)
	pool := testpg.NewPool(t, dbURL)
	const client = "crash-counter"
	key, err := auth.Add(ctx, pool, auth.Client{Name: client, Role: httpapi.RoleCounter})
	require.NoError(t, err)

	for i, tc := range []struct {
		name     string
		appended bool // the killed server's events are in the store
	}{
		{"killed before its events were appended", false},
		{"killed after its events were appended, before its answer was stored", true},
	} {
		first17 := fmt.Sprintf("1101051949123100%d", i)
		idNumber := first17 + string(domain.IDCheckChar(first17))
		idemKey := fmt.Sprintf("crash-%d", i)
		stream := domain.StreamFor(domain.CardholderIDFor(d.cfg.IDKey, idNumber))
		body := map[string]string{
			"id_number": idNumber, "name": "张三", "sex": string(domain.SexOf(idNumber)), "nationality": "CHN",
			"region_code": "320508", "phone": "13800000000", "employer_code": "E001", "community_code": "C001",
		}
		t.Run(tc.name, func(t *testing.T) {
			srv := startCrashServer(t, ctx, dbURL, fmt.Sprintf("crash-server-%d-killed", i))
			// Appends wait for this lock; reads of the stream do not.
			hold, err := pool.Begin(ctx)
			require.NoError(t, err)
			defer hold.Rollback(ctx)
			_, err = hold.Exec(ctx, "LOCK TABLE eventstore_events IN SHARE MODE")
			require.NoError(t, err)

			sent := make(chan error, 1)
			go func() {
				_, _, _, err := send(ctx, srv.url, key, idemKey, body)
				sent <- err
			}()
			poll(t, ctx, "the server claims the key and waits to append", func() bool {
				return count(t, ctx, pool, `SELECT count(*) FROM command_idempotency WHERE key = $1`, idemKey) == 1 &&
					srv.waiting(t, ctx, pool) > 0
			})
			var answer pgx.Tx
			if tc.appended {
				// Let the append through, but not the answer.
				answer, err = pool.Begin(ctx)
				require.NoError(t, err)
				_, err = answer.Exec(ctx, `SELECT 1 FROM command_idempotency WHERE key = $1 FOR UPDATE`, idemKey)
				require.NoError(t, err)
				require.NoError(t, hold.Rollback(ctx))
				defer answer.Rollback(ctx)
				poll(t, ctx, "the events are appended and the server waits to store its answer", func() bool {
					return count(t, ctx, pool, `SELECT count(*) FROM eventstore_events WHERE stream = $1`, stream) == 1 &&
						srv.waiting(t, ctx, pool) > 0
				})
			}

			srv.kill(t, ctx, pool)
			// Let go: a restarted server migrates the table and stores answers.
			_ = hold.Rollback(ctx)
			if answer != nil {
				require.NoError(t, answer.Rollback(ctx))
			}
			require.Error(t, <-sent, "the client gets no answer from the killed server")
			require.Equal(t, map[bool]int{false: 0, true: 1}[tc.appended],
				count(t, ctx, pool, `SELECT count(*) FROM eventstore_events WHERE stream = $1`, stream))
			require.Equal(t, 1, count(t, ctx, pool,
				`SELECT count(*) FROM command_idempotency WHERE key = $1 AND status IS NULL`, idemKey),
				"the dead server's claim is still there")

			srv = startCrashServer(t, ctx, dbURL, fmt.Sprintf("crash-server-%d-restarted", i))
			status, first, header := sendOK(t, ctx, srv.url, key, idemKey, body)
			require.Equal(t, http.StatusCreated, status, "the retry is answered, not refused as in flight: %s", first)
			var res commands.CommandResponse
			require.NoError(t, json.Unmarshal(first, &res))
			assert.Equal(t, uint64(0), res.Revision)
			assert.Equal(t, []string{"CardholderRegistered"}, res.Events)
			assert.Equal(t, map[bool]string{true: "true"}[tc.appended], header.Get(commands.HeaderReplayed),
				"replayed exactly when the command had happened")

			// Exactly one registration, with the id the key derives.
			rows, err := pool.Query(ctx, `SELECT id::text FROM eventstore_events WHERE stream = $1 ORDER BY revision`, stream)
			require.NoError(t, err)
			ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			assert.Equal(t, []string{commands.EventID(commands.CommandIDFor(client, idemKey), stream, 0).String()}, ids)

			status, again, header := sendOK(t, ctx, srv.url, key, idemKey, body)
			assert.Equal(t, http.StatusCreated, status)
			assert.JSONEq(t, string(first), string(again))
			assert.Equal(t, "true", header.Get(commands.HeaderReplayed))
		})
	}
}

// crashServer is `cardledger serve` in a child process. Its connections
// carry application_name so the test can find them.
type crashServer struct {
	cmd  *exec.Cmd
	app  string
	url  string
	out  *lockedBuffer
	done chan struct{}
}

func startCrashServer(t *testing.T, ctx context.Context, dbURL, app string) *crashServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	s := &crashServer{app: app, url: "http://" + addr, out: &lockedBuffer{}, done: make(chan struct{})}
	sep := "?"
	if strings.Contains(dbURL, "?") {
		sep = "&"
	}
	s.cmd = exec.Command(os.Args[0], "-test.run=^TestCrashServerChild$")
	s.cmd.Env = append(os.Environ(), envCrashServer+"=1",
		"CARDLEDGER_POSTGRES_URL="+dbURL+sep+"application_name="+s.app,
		"CARDLEDGER_LISTEN="+addr, "CARDLEDGER_PROJECTIONS=false", "CARDLEDGER_LOG_LEVEL=warn")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	require.NoError(t, s.cmd.Start())
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("%s output:\n%s", s.app, tail(s.out.String(), 4000))
		}
	})
	poll(t, ctx, s.app+" answers /healthz", func() bool {
		res, err := http.Get(s.url + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return s
}

// waiting counts the server's connections that wait for a lock.
func (s *crashServer) waiting(t *testing.T, ctx context.Context, pool *pgxpool.Pool) int {
	return count(t, ctx, pool, `SELECT count(*) FROM pg_stat_activity
		WHERE application_name = $1 AND wait_event_type = 'Lock'`, s.app)
}

// kill SIGKILLs the server. Its connections that wait for one of our locks
// would finish their statement once we let go (PostgreSQL notices a dead
// client only when it next talks to it); they are terminated, as the server
// would end them on noticing, so that what the killed process did is
// exactly what it had done when it died.
func (s *crashServer) kill(t *testing.T, ctx context.Context, pool *pgxpool.Pool) {
	t.Helper()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGKILL))
	<-s.done
	ws, ok := s.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "%s died by %v", s.app, s.cmd.ProcessState)
	_, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1 AND wait_event_type = 'Lock'`, s.app)
	require.NoError(t, err)
	poll(t, ctx, s.app+"'s connections are gone", func() bool {
		return count(t, ctx, pool, `SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE $1 || '%'`, s.app) == 0
	})
}

// send registers body with an Idempotency-Key.
func send(ctx context.Context, url, key, idemKey string, body any) (int, []byte, http.Header, error) {
	return postErr(ctx, url, "/v1/cardholders", key, idemKey, body)
}

func sendOK(t *testing.T, ctx context.Context, url, key, idemKey string, body any) (int, []byte, http.Header) {
	t.Helper()
	status, out, header, err := send(ctx, url, key, idemKey, body)
	require.NoError(t, err)
	return status, out, header
}

func count(t *testing.T, ctx context.Context, pool *pgxpool.Pool, sql string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, pool.QueryRow(ctx, sql, args...).Scan(&n))
	return n
}

// poll waits until cond holds; the test's deadline bounds it.
func poll(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting until %s", what)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
