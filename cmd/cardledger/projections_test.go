package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// projectionRows reads the rows of the named tables as JSON, in key order.
func projectionRows(t *testing.T, ctx context.Context, pool *pgxpool.Pool, tables map[string]string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, order := range tables {
		rows, err := pool.Query(ctx, "SELECT to_jsonb(t)::text FROM "+table+" t ORDER BY "+order)
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

// `projections list` shows every projection with its position, lag and
// whether it can be rebuilt, and `projections rebuild NAME` removes a
// divergence planted in the live batch read model and audit trail, leaving
// the rows the running service built.
func TestProjectionsRebuildRemovesDivergence(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "warn"}
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	b := boot(t, ctx, env)
	key, err := auth.Add(ctx, b.d.pool, auth.Client{Name: "rebuild", Role: httpapi.RoleAdmin})
	require.NoError(t, err)
	s := &service{url: b.srv.URL, key: key}
	for i := range 3 {
		first := fmt.Sprintf("320508198001%02d%03d", i+1, 2*i) // even: female
		status, reg := s.do(t, "POST", "/v1/cardholders", map[string]string{
			"id_number": first + string(domain.IDCheckChar(first)), "name": fmt.Sprintf("测试%d", i), "sex": "female",
			"nationality": "CHN", "region_code": "320508", "phone": "13800000000", "employer_code": "E001", "community_code": "C001",
		})
		require.Equal(t, http.StatusCreated, status, "%v", reg)
	}
	// $all's head trails an append while older transactions of the
	// cluster run (other tests'): wait until the three holders are in.
	var head eventstore.Head
	for applications := 0; applications < 3; {
		head, _, err = b.d.store.Head(ctx)
		require.NoError(t, err)
		require.NoError(t, b.a.runner.WaitFor(ctx, head.Position))
		require.NoError(t, b.d.pool.QueryRow(ctx, "SELECT count(*) FROM batchrm.applications").Scan(&applications))
		time.Sleep(10 * time.Millisecond)
	}

	cases := []struct {
		name   string
		tables map[string]string
		plant  string
	}{
		{"batch", map[string]string{"batchrm.checkpoint": "1", "batchrm.applications": "cardholder_id",
			"batchrm.batches": "batch_id", "batchrm.psam": "serial"}, `
			DELETE FROM batchrm.applications WHERE cardholder_id = (SELECT min(cardholder_id) FROM batchrm.applications);
			UPDATE batchrm.applications SET status = 'planted'`},
		{"audit", map[string]string{"audit.checkpoint": "1", "audit.actions": "pos_commit, pos_prepare",
			"audit.stream_heads": "stream"}, `
			DELETE FROM audit.actions WHERE (pos_commit, pos_prepare) = (SELECT pos_commit, pos_prepare FROM audit.actions ORDER BY 1, 2 LIMIT 1);
			UPDATE audit.stream_heads SET revision = 999`},
	}
	for _, c := range cases {
		live := projectionRows(t, ctx, b.d.pool, c.tables)
		_, err := b.d.pool.Exec(ctx, c.plant)
		require.NoError(t, err)
		require.NotEqual(t, live, projectionRows(t, ctx, b.d.pool, c.tables), "divergence planted in %s", c.name)

		var out bytes.Buffer
		cli := &environment{stdout: &out, stderr: io.Discard, getenv: env.getenv}
		require.Equal(t, 0, run(ctx, cli, []string{"projections", "rebuild", c.name}))
		require.Contains(t, out.String(), c.name+": rebuilt from")
		require.Equal(t, live, projectionRows(t, ctx, b.d.pool, c.tables), c.name)
	}

	var out bytes.Buffer
	cli := &environment{stdout: &out, stderr: io.Discard, getenv: env.getenv}
	require.Equal(t, 0, run(ctx, cli, []string{"projections", "list"}))
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Equal(t, []string{"NAME", "CHECKPOINT", "LAG", "EVENTS", "LAG", "SECONDS", "REBUILDABLE"}, strings.Fields(lines[0]))
	var names []string
	for _, line := range lines[1:] {
		f := strings.Fields(line)
		names = append(names, f[0])
		require.Equal(t, []string{head.Position.String(), "0", "0", "yes"}, f[1:], line)
	}
	require.Equal(t, []string{"readmodel", "batch", "audit", "payments"}, names)
}

// `migrate` alone creates every projection's tables: the runner's
// projections all read their checkpoints on a database nothing else touched.
func TestMigrateCreatesEveryProjectionsTables(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	url := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": url, "CARDLEDGER_LOG_LEVEL": "warn"}
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	require.Equal(t, 0, run(ctx, env, []string{"migrate"}))
	pool := testpg.NewPool(t, url)
	for _, table := range []string{"readmodel.checkpoint", "batchrm.checkpoint", "batchrm.applications", "batchrm.batches",
		"batchrm.psam", "batchrm.import_jobs", "audit.checkpoint", "audit.actions", "audit.digests",
		"payments.checkpoint", "payments.merchants", "payments.orders", "payments.refunds"} {
		var found bool
		require.NoError(t, pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&found))
		require.True(t, found, table)
	}
	var out bytes.Buffer
	cli := &environment{stdout: &out, stderr: io.Discard, getenv: env.getenv}
	require.Equal(t, 0, run(ctx, cli, []string{"projections", "list"}))
	require.NotContains(t, out.String(), "unavailable")
	require.Len(t, strings.Split(strings.TrimSpace(out.String()), "\n"), 5, out.String())
}
