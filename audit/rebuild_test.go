package audit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/projections"
)

// dumpTrail reads every row of the audit trail as JSON in key order: the
// tables derived from the log, and the signed digests (not derived, kept).
func dumpTrail(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, sql := range map[string]string{
		"checkpoint":   "SELECT to_jsonb(t)::text FROM audit.checkpoint t",
		"actions":      "SELECT to_jsonb(t)::text FROM audit.actions t ORDER BY pos_commit, pos_prepare",
		"stream_heads": "SELECT to_jsonb(t)::text FROM audit.stream_heads t ORDER BY stream",
		"digests":      "SELECT to_jsonb(t)::text FROM audit.digests t ORDER BY id",
		"digest_heads": "SELECT to_jsonb(t)::text FROM audit.digest_heads t ORDER BY digest_id, stream",
	} {
		rows, err := pool.Query(ctx, sql)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out[name] = append(out[name], s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// The runner rebuilds the audit trail from the log into a shadow and swaps
// it in: actions deleted or altered and a head edited in the live tables
// are restored, the rows equal those built live, the signed digests stay,
// and the live runner goes on applying to the new tables.
func TestRebuildRemovesDivergence(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(e.ctx, 60*time.Second)
	defer cancel()
	r := projections.NewRunner(e.store, e.pool, nil).
		WithOptions(projections.Options{LockPoll: 20 * time.Millisecond, Retry: 20 * time.Millisecond}).
		Add(NewProjection(e.pool))
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = r.Run(runCtx) }()
	defer func() { stop(); wg.Wait() }()

	e.appendN("cardholder-a", 30, domain.Actor{Client: "counter", Operator: "op-1"}, "10.0.0.1")
	e.appendN("cardholder-b", 20, domain.Actor{Client: "bank"}, "10.0.0.2")
	if err := r.WaitFor(ctx, e.last); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDigester(e.pool, e.store, e.key).Create(ctx); err != nil {
		t.Fatal(err)
	}
	head, _, err := e.store.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.WaitFor(ctx, head.Position); err != nil {
		t.Fatal(err)
	}
	live := dumpTrail(t, ctx, e.pool)
	if len(live["actions"]) != 51 || len(live["digests"]) != 1 {
		t.Fatalf("live trail: %d actions, %d digests", len(live["actions"]), len(live["digests"]))
	}

	if _, err := e.pool.Exec(ctx, `
		DELETE FROM audit.actions WHERE (pos_commit, pos_prepare) = (SELECT pos_commit, pos_prepare FROM audit.actions ORDER BY 1, 2 LIMIT 1);
		UPDATE audit.actions SET operator = 'planted' WHERE client = 'bank';
		UPDATE audit.stream_heads SET revision = 999 WHERE stream = 'cardholder-a'`); err != nil {
		t.Fatal(err)
	}
	drifted := dumpTrail(t, ctx, e.pool)
	for _, table := range []string{"actions", "stream_heads"} {
		if equalRows(live[table], drifted[table]) {
			t.Fatalf("no divergence planted in %s", table)
		}
	}

	st, err := r.Rebuild(ctx, ProjectionName)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events != 51 { // 50 appended and the digest's announcement
		t.Fatalf("rebuild loaded %d events, want 51", st.Events)
	}
	got := dumpTrail(t, ctx, e.pool)
	for name := range live {
		if !equalRows(live[name], got[name]) {
			t.Fatalf("%s after the rebuild:\n%v\nwant the rows built live:\n%v", name, got[name], live[name])
		}
	}

	// The live runner goes on applying to the swapped-in tables.
	e.appendN("cardholder-c", 3, domain.Actor{Client: "counter"}, "10.0.0.3")
	if err := r.WaitFor(ctx, e.last); err != nil {
		t.Fatal(err)
	}
	if got := dumpTrail(t, ctx, e.pool); len(got["actions"]) != 54 {
		t.Fatalf("after the rebuild the runner stored %d actions, want 54", len(got["actions"]))
	}
}

func equalRows(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
