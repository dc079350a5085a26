package batch

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/projections"
)

// dumpReadModel reads every row the batch read model derives from the log,
// as JSON in key order, and how many import jobs there are (kept, not
// derived).
func dumpReadModel(t *testing.T, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, sql := range map[string]string{
		"checkpoint":   "SELECT to_jsonb(t)::text FROM batchrm.checkpoint t",
		"applications": "SELECT to_jsonb(t)::text FROM batchrm.applications t ORDER BY cardholder_id",
		"batches":      "SELECT to_jsonb(t)::text FROM batchrm.batches t ORDER BY batch_id",
		"psam":         "SELECT to_jsonb(t)::text FROM batchrm.psam t ORDER BY serial",
		"import_jobs":  "SELECT count(*)::text FROM batchrm.import_jobs",
	} {
		rows, err := pool.Query(context.Background(), sql)
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

// The runner rebuilds the batch read model from the log into a shadow and
// swaps it in: a divergence planted in the live tables (an application
// lost, a batch's member count and a holder's batch edited, a stray row) is
// gone, the rows equal those built live, the import jobs (not derived from
// the log) are kept, and the live runner goes on applying to the new tables.
func TestRebuildRemovesDivergence(t *testing.T) {
	e := newEnv(t)
	s := e.service(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	r := projections.NewRunner(e.store, e.pool, nil).
		WithOptions(projections.Options{LockPoll: 20 * time.Millisecond, Retry: 20 * time.Millisecond}).
		Add(NewReadModel(e.pool))
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = r.Run(runCtx) }()
	defer func() { stop(); wg.Wait() }()

	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, people(40, 0), files.EncodingGB18030); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportApplications(ctx, csv.Bytes()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateBatch(ctx, "B1", domain.BatchFilter{RegionCode: "320505", Source: domain.SourceBatch, Kind: domain.FirstIssue}); err != nil {
		t.Fatal(err)
	}
	mustDo(t, func() error { _, err := s.Review(ctx, "B1", "reviewer-1", "ok"); return err })
	mustDo(t, func() error { _, err := s.Confirm(ctx, "B1", "chief-1"); return err })
	bankReturn, err := simulate.Bank(export(t, s, "B1", domain.FileBankOpen), simulate.Options{FailRate: 0.1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	importReturn(t, s, bankReturn)
	// An import job, which is not derived from the log, so a rebuild keeps it.
	if _, err := e.pool.Exec(ctx, `INSERT INTO batchrm.import_jobs (import_id, state, sha256, encoding, rows, started_at)
		VALUES ('kept', 'done', 'x', 'UTF-8', 5, now())`); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitFor(ctx, head(t, e)); err != nil {
		t.Fatal(err)
	}
	live := dumpReadModel(t, e.pool)
	if len(live["applications"]) != 40 || len(live["batches"]) != 1 || live["import_jobs"][0] != "1" {
		t.Fatalf("live model: %d applications, %d batches, %s import jobs",
			len(live["applications"]), len(live["batches"]), live["import_jobs"])
	}

	if _, err := e.pool.Exec(ctx, `
		DELETE FROM batchrm.applications WHERE cardholder_id = (SELECT min(cardholder_id) FROM batchrm.applications);
		UPDATE batchrm.applications SET batch_id = 'B9', region_code = '999999'
			WHERE cardholder_id = (SELECT max(cardholder_id) FROM batchrm.applications);
		UPDATE batchrm.batches SET members = 999, job = 77;
		INSERT INTO batchrm.batches (batch_id, created_on, members) VALUES ('STRAY', '20250301', 1)`); err != nil {
		t.Fatal(err)
	}
	drifted := dumpReadModel(t, e.pool)
	for _, table := range []string{"applications", "batches"} {
		if equalRows(live[table], drifted[table]) {
			t.Fatalf("no divergence planted in %s", table)
		}
	}

	st, err := r.Rebuild(ctx, ReadModelName)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events == 0 {
		t.Fatal("the rebuild loaded no events")
	}
	if got := dumpReadModel(t, e.pool); !equalDumps(live, got) {
		t.Fatalf("after the rebuild:\n%v\nwant the rows built live:\n%v", got, live)
	}

	// The live runner goes on applying to the swapped-in tables.
	csv.Reset()
	if err := files.WriteApplications(&csv, people(5, 40), files.EncodingGB18030); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ImportApplications(ctx, csv.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := r.WaitFor(ctx, head(t, e)); err != nil {
		t.Fatal(err)
	}
	if got := dumpReadModel(t, e.pool); len(got["applications"]) != 45 {
		t.Fatalf("after the rebuild the runner applied up to %d applications, want 45", len(got["applications"]))
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

func equalDumps(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !equalRows(a[k], b[k]) {
			return false
		}
	}
	return true
}
