package readmodel

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"

	"github.com/cardledger/cardledger/projections"
)

// Name is the name of the PostgreSQL read-model projection.
const Name = "readmodel"

// Model is the PostgreSQL projection behind readapi: cardholders, cards,
// production steps and the blacklist with its change feed, all in one
// schema with one checkpoint, so every query and the blacklist feed see the
// same point of the log.
type Model struct {
	pool   *pgxpool.Pool
	schema string
	// bulk marks a rebuild's shadow: its commits need not be durable
	// (synchronous_commit off), since a crash only loses a shadow nobody
	// reads and the next rebuild starts over. Never for the live model: a
	// blacklist seq a consumer saw must not vanish in a crash.
	bulk bool

	mu    sync.Mutex // one Apply at a time
	guard projections.Guard
	docs  docCache // valid while guard.Known (cache.go)
}

var (
	_ projections.SchemaProjection = (*Model)(nil)
	_ projections.Recoverer        = (*Model)(nil)
)

// New returns the read model writing to Schema.
func New(pool *pgxpool.Pool) *Model {
	return &Model{pool: pool, schema: Schema}
}

// All returns every PostgreSQL projection, for Runner.Add.
func All(pool *pgxpool.Pool) []projections.Projection {
	return []projections.Projection{New(pool)}
}

// Name implements projections.Projection.
func (m *Model) Name() string { return Name }

// Checkpoint implements projections.Projection.
func (m *Model) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	pos, _, err := readCheckpoint(ctx, m.pool, m.schema, false)
	return pos, err
}

// Recover implements projections.Recoverer: the runner calls it each time
// it takes the lock. Others may have written while this instance did not
// hold it, so the checkpoint and the cached documents are forgotten.
func (m *Model) Recover(ctx context.Context) (eventstore.Position, error) {
	m.mu.Lock()
	m.guard.Known = false
	m.docs.clear()
	m.mu.Unlock()
	return m.Checkpoint(ctx)
}

// batchRow lets readCheckpoint take its row from a batch result.
type batchRow struct{ r pgx.BatchResults }

func (b batchRow) QueryRow(context.Context, string, ...any) pgx.Row { return b.r.QueryRow() }

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readCheckpoint(ctx context.Context, q queryRower, schema string, forUpdate bool) (eventstore.Position, int64, error) {
	sql := "SELECT pos_commit, pos_prepare, last_seq FROM " + schema + ".checkpoint"
	if forUpdate {
		sql += " FOR UPDATE"
	}
	var c, p, seq int64
	if err := q.QueryRow(ctx, sql).Scan(&c, &p, &seq); err != nil {
		return eventstore.Position{}, 0, fmt.Errorf("read checkpoint of %s: %w", schema, err)
	}
	return eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}, seq, nil
}

// Apply implements projections.Projection. A batch of up to
// projections.PipelineMax events is read outside a transaction and written
// as one guarded pgx batch (projections.GuardSQL: one implicit transaction
// that moves the checkpoint only if no other writer did); a larger one (a
// catch-up page) in one transaction that locks the checkpoint and COPYs.
func (m *Model) Apply(ctx context.Context, batch []eventstore.RecordedEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(batch) > projections.PipelineMax || m.bulk {
		m.guard.Known = false
		m.docs.clear()
		return pgx.BeginTxFunc(ctx, m.pool, projections.ApplyTx, func(tx pgx.Tx) error {
			return m.applyTx(ctx, tx, batch)
		})
	}
	return projections.Guarded(ctx, &m.guard, func() error { return m.applyGuarded(ctx, batch) })
}

// applyGuarded is Apply as one guarded pgx batch.
func (m *Model) applyGuarded(ctx context.Context, batch []eventstore.RecordedEvent) error {
	g := &m.guard
	if !g.Known {
		// Whatever made the guard unknown may have left the cached
		// documents behind the table (cache.go).
		m.docs.clear()
		var c, p int64
		if err := m.pool.QueryRow(ctx, projections.GuardReadSQL(m.schema+".checkpoint", ", last_seq")).
			Scan(&g.Table, &c, &p, &g.Seq); err != nil {
			return fmt.Errorf("read checkpoint of %s: %w", m.schema, err)
		}
		g.Pos, g.Known = eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}, true
	}
	fresh, events, streams, err := decodeFresh(batch, g.Pos)
	if err != nil || len(fresh) == 0 {
		return err
	}
	f := newFold(g.Seq)
	for s := range streams {
		if doc, ok := m.docs.get(s); ok {
			f.loaded(s, doc)
			delete(streams, s)
		}
	}
	if err := m.loadDocs(ctx, m.pool, streams, f); err != nil {
		return err
	}
	for _, d := range events {
		f.apply(d.ev, d.e)
	}
	last := fresh[len(fresh)-1].Position
	b := &pgx.Batch{}
	// The fold's statements are small indexed ones: planned with their
	// parameters and without JIT (as applyTx sets). The change
	// notification rides on the guard (sent at commit, as queueWrites' own).
	b.Queue(projections.GuardSQL(m.schema+".checkpoint", ", last_seq = $6, updated_at = now()",
		", set_config('jit', 'off', true), set_config('plan_cache_mode', 'force_custom_plan', true), pg_notify($7, $8)"),
		append(g.GuardArgs(last), f.lastSeq, projections.NotifyChannel, Name)...)
	if err := m.queueWrites(b, f, false); err != nil {
		return err
	}
	res := m.pool.SendBatch(ctx, b)
	_, err = res.Exec()
	err = projections.GuardErr(err)
	if cerr := res.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write read model: %w", cerr)
	}
	if err != nil {
		return err
	}
	g.Pos, g.Seq = last, f.lastSeq
	m.docs.keep(f.docs)
	return nil
}

// decoded is a fresh event of a cardholder stream, decoded.
type decoded struct {
	ev eventstore.RecordedEvent
	e  domain.Event
}

// decodeFresh keeps the events after cp and decodes those the read model
// reads, naming their streams.
func decodeFresh(batch []eventstore.RecordedEvent, cp eventstore.Position) ([]eventstore.RecordedEvent, []decoded, map[string]bool, error) {
	fresh := batch[:0:0]
	for _, ev := range batch {
		if cp.Less(ev.Position) {
			fresh = append(fresh, ev)
		}
	}
	events := make([]decoded, 0, len(fresh))
	streams := map[string]bool{}
	for _, ev := range fresh {
		if _, ok := domain.CardholderIDOfStream(ev.Stream); !ok {
			continue // other aggregates (batches, PSAMs, usage) are not read here
		}
		e, err := domain.DecodeStoredEvent(ev.Type, ev.Data, ev.Metadata)
		if errors.Is(err, domain.ErrUnknownEventType) {
			continue
		}
		if err != nil {
			return nil, nil, nil, fmt.Errorf("event %s at %s: %w", ev.ID, ev.Position, err)
		}
		events = append(events, decoded{ev, e})
		streams[ev.Stream] = true
	}
	return fresh, events, streams, nil
}

// applyTx locks the checkpoint row first: it serialises writers (so blacklist
// seqs are handed out in apply order and commit in that order) and tells
// which events are already stored, which Apply then skips.
func (m *Model) applyTx(ctx context.Context, tx pgx.Tx, batch []eventstore.RecordedEvent) error {
	// These are small indexed statements. Plan each with its parameters: a
	// generic plan made while a table was empty (a rebuild's shadow) stays
	// a sequential scan as the table grows. And no JIT, which estimates on
	// statistics-less tables would trigger at ~60 ms a statement. Same round
	// trip as the checkpoint read.
	b := &pgx.Batch{}
	b.Queue("SELECT set_config('jit', 'off', true), set_config('plan_cache_mode', 'force_custom_plan', true)")
	b.Queue("SELECT pos_commit, pos_prepare, last_seq FROM " + m.schema + ".checkpoint FOR UPDATE")
	res := tx.SendBatch(ctx, b)
	_, jitErr := res.Exec()
	cp, lastSeq, err := readCheckpoint(ctx, batchRow{res}, m.schema, false)
	if cerr := res.Close(); err == nil {
		err = errors.Join(jitErr, cerr)
	}
	if err != nil {
		return err
	}
	fresh, events, streams, err := decodeFresh(batch, cp)
	if err != nil || len(fresh) == 0 {
		return err
	}
	f := newFold(lastSeq)
	if err := m.loadDocs(ctx, tx, streams, f); err != nil {
		return err
	}
	for _, d := range events {
		f.apply(d.ev, d.e)
	}
	return m.write(ctx, tx, f, fresh[len(fresh)-1].Position)
}

// querier is a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func (m *Model) loadDocs(ctx context.Context, tx querier, streams map[string]bool, f *fold) error {
	if len(streams) == 0 {
		return nil
	}
	names := make([]string, 0, len(streams))
	for s := range streams {
		names = append(names, s)
	}
	rows, err := tx.Query(ctx, "SELECT stream, state FROM "+m.schema+".cardholders WHERE stream = ANY($1)", names)
	if err != nil {
		return fmt.Errorf("load cardholders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var stream string
		var state []byte
		if err := rows.Scan(&stream, &state); err != nil {
			return fmt.Errorf("load cardholders: %w", err)
		}
		doc, err := decodeHolderDoc(state)
		if err != nil {
			return fmt.Errorf("load cardholder %s: %w", stream, err)
		}
		f.loaded(stream, doc)
	}
	return rows.Err()
}
