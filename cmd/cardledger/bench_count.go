package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cardledger/cardledger/internal/devtools/bench"
)

// What a command costs the database, counted the way the issue did: the
// database's and each table's counters (pg_stat_database,
// pg_stat_user_tables) and the server's projection batches (/metrics)
// before and after n commands sent one at a time, minus what the idle
// server did over as long (the projections' 200 ms polls, the
// notifier). A PostgreSQL backend publishes its counters at most once a
// second, and when it was too soon it waits until it has been idle for
// 10 s (PGSTAT_IDLE_INTERVAL), hence the pauses.

// dbCounters is one reading.
type dbCounters struct {
	at      time.Time
	db      map[string]float64            // pg_stat_database column → value
	tables  map[string]map[string]float64 // schema.table → n_tup_ins/upd/del
	batches map[string]float64            // projection → batches applied
	events  map[string]float64            // projection → events applied
	stmts   float64                       // pg_stat_statements calls, when loaded (else -1)
	byStmt  map[int64]stmtCounter         // pg_stat_statements by queryid, when loaded
}

// stmtCounter is one pg_stat_statements entry of the database.
type stmtCounter struct {
	query        string
	calls, total float64 // total: execution time, ms
}

var dbCounterColumns = []string{"xact_commit", "xact_rollback", "tup_inserted", "tup_updated", "tup_deleted", "tup_fetched", "tup_returned"}

func readCounters(ctx context.Context, pool *pgxpool.Pool, target *bench.HTTP) (dbCounters, error) {
	c := dbCounters{at: time.Now(), db: map[string]float64{}, tables: map[string]map[string]float64{},
		batches: map[string]float64{}, events: map[string]float64{}, stmts: -1}
	vals := make([]any, len(dbCounterColumns))
	ptrs := make([]float64, len(dbCounterColumns))
	for i := range vals {
		vals[i] = &ptrs[i]
	}
	if err := pool.QueryRow(ctx, `SELECT `+strings.Join(dbCounterColumns, "::float8, ")+`::float8
		FROM pg_stat_database WHERE datname = current_database()`).Scan(vals...); err != nil {
		return c, fmt.Errorf("read pg_stat_database: %w", err)
	}
	for i, col := range dbCounterColumns {
		c.db[col] = ptrs[i]
	}
	rows, err := pool.Query(ctx, `SELECT schemaname || '.' || relname, n_tup_ins::float8, n_tup_upd::float8, n_tup_del::float8
		FROM pg_stat_user_tables`)
	if err != nil {
		return c, fmt.Errorf("read pg_stat_user_tables: %w", err)
	}
	for rows.Next() {
		var name string
		var ins, upd, del float64
		if err := rows.Scan(&name, &ins, &upd, &del); err != nil {
			return c, err
		}
		c.tables[name] = map[string]float64{"ins": ins, "upd": upd, "del": del}
	}
	if err := rows.Err(); err != nil {
		return c, err
	}
	var loaded bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_stat_statements')
		AND current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%'`).Scan(&loaded); err != nil {
		return c, err
	}
	if loaded {
		if err := pool.QueryRow(ctx, `SELECT coalesce(sum(calls), 0)::float8 FROM pg_stat_statements
			WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&c.stmts); err != nil {
			return c, err
		}
		if c.byStmt, err = readStatements(ctx, pool); err != nil {
			return c, err
		}
	}
	p, err := readProjectionCounters(ctx, target)
	if err != nil {
		return c, err
	}
	c.batches, c.events = p.batches, p.events
	return c, nil
}

// readStatements reads pg_stat_statements of the current database by
// statement (summed over users).
func readStatements(ctx context.Context, pool *pgxpool.Pool) (map[int64]stmtCounter, error) {
	rows, err := pool.Query(ctx, `SELECT queryid, min(query), sum(calls)::float8, sum(total_exec_time)::float8
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		GROUP BY queryid`)
	if err != nil {
		return nil, fmt.Errorf("read pg_stat_statements: %w", err)
	}
	defer rows.Close()
	out := map[int64]stmtCounter{}
	for rows.Next() {
		var id int64
		var s stmtCounter
		if err := rows.Scan(&id, &s.query, &s.calls, &s.total); err != nil {
			return nil, err
		}
		out[id] = s
	}
	return out, rows.Err()
}

// printStatements lists the statements the commands ran, most frequent
// first: calls per command (the idle server's subtracted) and mean
// execution time of the calls made while they ran.
func printStatements(out io.Writer, k costs) {
	type line struct {
		query       string
		calls, mean float64
	}
	var lines []line
	for id, s2 := range k.s2.byStmt {
		get := func(f func(stmtCounter) float64) func(dbCounters) float64 {
			return func(c dbCounters) float64 { return f(c.byStmt[id]) }
		}
		calls := k.of(get(func(s stmtCounter) float64 { return s.calls }))
		if calls < 0.02 {
			continue
		}
		mean := 0.0
		if n := s2.calls - k.s1.byStmt[id].calls; n > 0 {
			mean = (s2.total - k.s1.byStmt[id].total) / n
		}
		lines = append(lines, line{strings.Join(strings.Fields(s2.query), " "), calls, mean})
	}
	slices.SortFunc(lines, func(a, b line) int { return cmp.Compare(b.calls, a.calls) })
	fmt.Fprintln(out, "  by statement (calls per command, mean execution time):")
	for _, l := range lines {
		q := l.query
		if r := []rune(q); len(r) > 110 {
			q = string(r[:110]) + "…"
		}
		fmt.Fprintf(out, "    %5.2f  %7.3f ms  %s\n", l.calls, l.mean, q)
	}
}

// projectionCounters are the server's batches and events applied, by
// projection (from /metrics).
type projectionCounters struct {
	batches, events map[string]float64
}

func readProjectionCounters(ctx context.Context, target *bench.HTTP) (projectionCounters, error) {
	c := projectionCounters{batches: map[string]float64{}, events: map[string]float64{}}
	body, err := target.Get(ctx, "/metrics")
	if err != nil {
		return c, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return c, fmt.Errorf("parse /metrics: %w", err)
	}
	for name, into := range map[string]map[string]float64{
		"cardledger_projection_batches_applied_total": c.batches,
		"cardledger_projection_events_applied_total":  c.events,
	} {
		if f := families[name]; f != nil {
			for _, m := range f.Metric {
				for _, l := range m.Label {
					if l.GetName() == "projection" {
						into[l.GetValue()] = m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	return c, nil
}

// costs are three readings: s0 and s1 around an idle spell, s2 after the
// commands sent from s1 on.
type costs struct {
	n          float64
	idle, busy time.Duration
	s0, s1, s2 dbCounters
}

// of is one counter per command: (s2 − s1 − (s1 − s0) × busy/idle) / n.

func (k costs) of(get func(dbCounters) float64) float64 {
	idle := get(k.s1) - get(k.s0)
	busy := get(k.s2) - get(k.s1)
	return (busy - idle*k.busy.Seconds()/k.idle.Seconds()) / k.n
}

// statsSettle lets every backend publish its counters; idleSpell is how
// long the idle server is watched. Tests that check only the output's
// shape shorten both.
var statsSettle, idleSpell = 11 * time.Second, 5 * time.Second

func countCommands(ctx context.Context, env *environment, d *deps, target *bench.HTTP, cards []string, n int) error {
	pool, err := d.openPool(ctx)
	if err != nil {
		return err
	}
	sleep := func(t time.Duration) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(t):
			return nil
		}
	}
	if err := sleep(statsSettle); err != nil {
		return err
	}
	s0, err := readCounters(ctx, pool, target)
	if err != nil {
		return err
	}
	if err := sleep(idleSpell); err != nil {
		return err
	}
	s1, err := readCounters(ctx, pool, target)
	if err != nil {
		return err
	}
	started := time.Now()
	card, pos, err := target.Sequential(ctx, cards[1:], n)
	if err != nil {
		return fmt.Errorf("bench --count: %w", err)
	}
	took := time.Since(started)
	if d.cfg.Projections {
		if err := target.WaitVisible(ctx, card, pos); err != nil {
			return fmt.Errorf("bench --count: %w", err)
		}
	}
	if err := sleep(statsSettle); err != nil {
		return err
	}
	s2, err := readCounters(ctx, pool, target)
	if err != nil {
		return err
	}
	k := costs{n: float64(n), idle: s1.at.Sub(s0.at), busy: s2.at.Sub(s1.at), s0: s0, s1: s1, s2: s2}
	out := env.stdout
	fmt.Fprintf(out, "cost per command: %d commands sent one at a time in %s (%.1f ms each), projections=%t; the idle server's counters over as long subtracted\n",
		n, took.Round(time.Millisecond), ms(took)/float64(n), d.cfg.Projections)
	db := func(col string) float64 { return k.of(func(c dbCounters) float64 { return c.db[col] }) }
	fmt.Fprintf(out, "  database: %.2f commits, %.2f rollbacks, %.2f rows inserted, %.2f updated, %.2f deleted, %.1f fetched, %.1f returned\n",
		db("xact_commit"), db("xact_rollback"), db("tup_inserted"), db("tup_updated"), db("tup_deleted"), db("tup_fetched"), db("tup_returned"))
	if s0.stmts >= 0 {
		fmt.Fprintf(out, "  statements (pg_stat_statements): %.2f\n", k.of(func(c dbCounters) float64 { return c.stmts }))
		defer printStatements(out, k)
	} else {
		fmt.Fprintln(out, "  statements: pg_stat_statements is not loaded in this cluster (it needs shared_preload_libraries and a restart)")
	}
	names := slices.Sorted(maps.Keys(s2.tables))
	for _, name := range names {
		get := func(col string) float64 {
			return k.of(func(c dbCounters) float64 { return c.tables[name][col] })
		}
		ins, upd, del := get("ins"), get("upd"), get("del")
		if ins < 0.005 && upd < 0.005 && del < 0.005 {
			continue
		}
		fmt.Fprintf(out, "  table %-40s %.2f inserted, %.2f updated, %.2f deleted\n", name, ins, upd, del)
	}
	for _, name := range slices.Sorted(maps.Keys(s2.batches)) {
		batches := (s2.batches[name] - s1.batches[name]) / k.n
		events := (s2.events[name] - s1.events[name]) / k.n
		fmt.Fprintf(out, "  projection %-31s %.2f batches (transactions), %.2f events applied\n", name, batches, events)
	}
	return nil
}
