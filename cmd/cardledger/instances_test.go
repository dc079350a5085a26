package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

// envInstance makes the test binary run `cardledger ARGS` (ARGS space
// separated, the rest of the configuration from the environment) in
// TestInstanceChild: a real serve or project process that a test can
// SIGKILL.
const envInstance = "CARDLEDGER_TEST_INSTANCE_ARGS"

// TestInstanceChild is one cardledger process of the many-instance tests.
func TestInstanceChild(t *testing.T) {
	args := os.Getenv(envInstance)
	if args == "" {
		t.Skip("runs only as a child process")
	}
	env := &environment{stdout: os.Stderr, stderr: os.Stderr, getenv: os.Getenv}
	t.Fatalf("%s returned %d", args, run(context.Background(), env, strings.Fields(args)))
}

// instance is a cardledger process started by a test.
type instance struct {
	app  string // its application_name in pg_stat_activity
	url  string // serve only
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// startInstance starts `cardledger args...` on dbURL as application app;
// a serve listens on a free port and is returned once /healthz answers.
func startInstance(t *testing.T, ctx context.Context, dbURL, app string, vars map[string]string, args ...string) *instance {
	t.Helper()
	in := &instance{app: app, out: &lockedBuffer{}, done: make(chan struct{})}
	sep := "?"
	if strings.Contains(dbURL, "?") {
		sep = "&"
	}
	env := append(os.Environ(), envInstance+"="+strings.Join(args, " "),
		"CARDLEDGER_POSTGRES_URL="+dbURL+sep+"application_name="+app, "CARDLEDGER_LOG_LEVEL=warn")
	if args[0] == "serve" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := ln.Addr().String()
		require.NoError(t, ln.Close())
		in.url = "http://" + addr
		env = append(env, "CARDLEDGER_LISTEN="+addr)
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	in.cmd = exec.Command(os.Args[0], "-test.run=^TestInstanceChild$")
	in.cmd.Env = env
	in.cmd.Stdout, in.cmd.Stderr = in.out, in.out
	require.NoError(t, in.cmd.Start())
	go func() { _ = in.cmd.Wait(); close(in.done) }()
	t.Cleanup(func() {
		_ = in.cmd.Process.Kill()
		<-in.done
		if t.Failed() {
			t.Logf("%s output:\n%s", app, tail(in.out.String(), 4000))
		}
	})
	if in.url != "" {
		poll(t, ctx, app+" answers /healthz", func() bool {
			res, err := http.Get(in.url + "/healthz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
	}
	return in
}

// sigkill kills the process with SIGKILL and returns once it is reaped.
func (in *instance) sigkill(t *testing.T) {
	t.Helper()
	require.NoError(t, in.cmd.Process.Signal(syscall.SIGKILL))
	<-in.done
	ws, ok := in.cmd.ProcessState.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL, "%s died by %v", in.app, in.cmd.ProcessState)
}

// lockHolder is the application holding the runner's lock of projection
// name ("" when none does). A bigint advisory key shows in pg_locks as its
// high half in classid, its low half in objid and objsubid 1.
func lockHolder(t *testing.T, ctx context.Context, pool *pgxpool.Pool, name string) string {
	t.Helper()
	key := uint64(projections.LockKey(name))
	var app string
	err := pool.QueryRow(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 1`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&app)
	if !errors.Is(err, pgx.ErrNoRows) {
		require.NoError(t, err)
	}
	return app
}

// readModels are the PostgreSQL projections `project` runs and the schema
// each keeps its rows and checkpoint in.
var readModels = map[string]string{"readmodel": "readmodel", "batch": "batchrm", "audit": "audit"}

// checkpoint is the position projection name has applied up to.
func checkpoint(t *testing.T, ctx context.Context, pool *pgxpool.Pool, name string) eventstore.Position {
	t.Helper()
	var p eventstore.Position
	require.NoError(t, pool.QueryRow(ctx, "SELECT pos_commit, pos_prepare FROM "+readModels[name]+".checkpoint").Scan(&p.Commit, &p.Prepare))
	return p
}

// readModelRows is every row of every read-model table but the
// checkpoints, as JSON, sorted: what must equal a rebuild from the log.
func readModelRows(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	var schemas []string
	for _, s := range readModels {
		schemas = append(schemas, s)
	}
	rows, err := pool.Query(ctx, `SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE table_schema = ANY($1) AND table_name <> 'checkpoint' AND table_type = 'BASE TABLE'`, schemas)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		tables = append(tables, s)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, tables)
	out := map[string][]string{}
	for _, table := range tables {
		out[table] = []string{} // an empty table is compared too
		rows, err := pool.Query(ctx, "SELECT to_jsonb(t)::text AS j FROM "+table+" t ORDER BY j")
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out[table] = append(out[table], s)
		}
		require.NoError(t, rows.Err())
	}
	return out
}

// waitCaughtUp waits until every read model has applied the log's head.
func waitCaughtUp(t *testing.T, ctx context.Context, pool *pgxpool.Pool, head eventstore.Position) {
	t.Helper()
	for name := range readModels {
		poll(t, ctx, name+" caught up with "+head.String(), func() bool {
			return checkpoint(t, ctx, pool, name) == head
		})
	}
}

// sameAsRebuild checks the read models against the event log: their rows
// must be exactly those a rebuild from position zero makes (no row lost,
// none applied twice). No projector may run meanwhile.
func sameAsRebuild(t *testing.T, ctx context.Context, pool *pgxpool.Pool, getenv func(string) string) {
	t.Helper()
	live := readModelRows(t, ctx, pool)
	var out bytes.Buffer
	cli := &environment{stdout: &out, stderr: &out, getenv: getenv}
	require.Equal(t, 0, run(ctx, cli, []string{"projections", "rebuild"}), out.String())
	rebuilt := readModelRows(t, ctx, pool)
	for table, rows := range rebuilt {
		require.Equal(t, len(rows), len(live[table]), "rows of %s: live vs rebuilt from the log", table)
		require.Equal(t, rows, live[table], "%s: live vs rebuilt from the log", table)
	}
	require.Equal(t, len(rebuilt), len(live), "tables")
}

// person is the n-th synthetic cardholder: a valid, distinct ID number.
func person(n int) map[string]string {
	birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n/400)
	seq := n%400 + 100
	first := fmt.Sprintf("320508%s%03d", birth.Format("20060102"), seq)
	sex := "male"
	if seq%2 == 0 {
		sex = "female"
	}
	return map[string]string{
		"id_number": first + string(domain.IDCheckChar(first)), "name": fmt.Sprintf("实例%d", n), "sex": sex,
		"nationality": "CHN", "region_code": "320508", "phone": "13800000000", "employer_code": "E001", "community_code": "C001",
	}
}

// call sends one JSON request and decodes the answer.
func call(ctx context.Context, method, url, key string, body any) (int, map[string]any, error) {
	var r io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return res.StatusCode, nil, fmt.Errorf("%d %s: %w", res.StatusCode, raw, err)
		}
	}
	return res.StatusCode, out, nil
}

// lifecycle registers person n, issues a card at the counter and, for
// every third person, reports it lost, each step through the next server
// of urls; it returns the card number and whether it was lost, and the
// position of the last command.
func lifecycle(ctx context.Context, urls []string, key string, n int) (card string, lost bool, position string, err error) {
	url := func(i int) string { return urls[(n+i)%len(urls)] }
	status, reg, err := call(ctx, http.MethodPost, url(0)+"/v1/cardholders", key, person(n))
	if err != nil || status != http.StatusCreated {
		return "", false, "", fmt.Errorf("register %d: %d %v %w", n, status, reg, err)
	}
	id, _ := reg["cardholder_id"].(string)
	status, issued, err := call(ctx, http.MethodPost, url(1)+"/v1/cardholders/"+id+"/instant-issuance", key, map[string]string{
		"bank_code": "ICBC", "account_no": fmt.Sprintf("621226%013d", n), "chip_id": fmt.Sprintf("%032X", n+1)})
	if err != nil || status != http.StatusOK {
		return "", false, "", fmt.Errorf("issue %d: %d %v %w", n, status, issued, err)
	}
	card, _ = issued["card_no"].(string)
	position, _ = issued["position"].(string)
	if n%3 == 0 {
		status, out, err := call(ctx, http.MethodPost, url(2)+"/v1/cards/"+card+"/loss", key, map[string]string{"reason": "lost on the bus"})
		if err != nil || status != http.StatusOK {
			return "", false, "", fmt.Errorf("loss %d: %d %v %w", n, status, out, err)
		}
		position, _ = out["position"].(string)
		lost = true
	}
	return card, lost, position, nil
}

// load is writers clients, each doing lifecycles of people of its own over
// urls until stopped; it records every card with whether it was lost.
type load struct {
	next     atomic.Int64
	stopping atomic.Bool
	mu       sync.Mutex
	cards    map[string]bool     // card number: lost
	last     eventstore.Position // the greatest position a client was answered
	errs     []error
	wg       sync.WaitGroup
}

func startLoad(ctx context.Context, urls []string, key string, writers int) *load {
	l := &load{cards: map[string]bool{}}
	for range writers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for !l.stopping.Load() && ctx.Err() == nil {
				n := int(l.next.Add(1))
				card, lost, position, err := lifecycle(ctx, urls, key, n)
				var pos eventstore.Position
				if err == nil {
					pos, err = eventstore.ParsePosition(position)
				}
				l.mu.Lock()
				if err != nil {
					l.errs = append(l.errs, err)
				} else {
					l.cards[card] = lost
					if l.last.Less(pos) {
						l.last = pos
					}
				}
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// stop ends the load once every lifecycle under way is complete, and fails
// the test on any request that failed.
func (l *load) stop(t *testing.T) {
	t.Helper()
	l.stopping.Store(true)
	l.wg.Wait()
	require.Empty(t, l.errs, "requests failed during the load")
}

// lost counts the cards the load reported lost.
func (l *load) lost() int {
	n := 0
	for _, lost := range l.cards {
		if lost {
			n++
		}
	}
	return n
}

// head is the event log's head once it shows atLeast (the PostgreSQL
// store holds $all back while other databases' transactions run, and tests
// around this one create databases).
func head(t *testing.T, ctx context.Context, getenv func(string) string, atLeast eventstore.Position) eventstore.Position {
	t.Helper()
	d, err := parseConfig(&environment{stderr: io.Discard, getenv: getenv}, flag.NewFlagSet("test", flag.ContinueOnError), nil)
	require.NoError(t, err)
	defer d.close()
	store, err := d.openEventLog(ctx)
	require.NoError(t, err)
	var h eventstore.Head
	poll(t, ctx, "the log's head shows "+atLeast.String(), func() bool {
		h, _, err = store.Head(ctx)
		require.NoError(t, err)
		return !h.Position.Less(atLeast)
	})
	return h.Position
}
