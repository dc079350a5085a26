package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

// ProjectionName names the audit projection in the runner.
const ProjectionName = "audit"

// Projection records every event's who, where and why in audit.actions
// and every stream's head in audit.stream_heads.
type Projection struct {
	pool   *pgxpool.Pool
	schema string // Schema, or a rebuild's shadow
	bulk   bool   // a rebuild's shadow: commits need not be durable

	mu    sync.Mutex // one Apply at a time
	guard projections.Guard
}

var _ projections.SchemaProjection = (*Projection)(nil)

// NewProjection returns the audit projection; run Migrate first.
func NewProjection(pool *pgxpool.Pool) *Projection { return &Projection{pool: pool, schema: Schema} }

// Storage implements projections.SchemaProjection: a rebuild replaces the
// tables derived from the log and keeps the signed digests beside them.
func (p *Projection) Storage() projections.SchemaStorage {
	return projections.SchemaStorage{Pool: p.pool, Schema: p.schema, Tables: projectionTables, DDL: schemaDDL, Indexes: indexDDL}
}

// In implements projections.SchemaProjection.
func (p *Projection) In(schema string, shadow bool) projections.SchemaProjection {
	return &Projection{pool: p.pool, schema: schema, bulk: shadow}
}

// Name implements projections.Projection.
func (p *Projection) Name() string { return ProjectionName }

// Checkpoint implements projections.Projection.
func (p *Projection) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	return projections.SchemaCheckpoint(ctx, p.pool, p.schema)
}

// Apply implements projections.Projection: rows, heads and checkpoint
// stored together, events at or before the checkpoint skipped. A batch of up
// to projections.PipelineMax events is one guarded pgx batch (one implicit
// transaction, one round trip: projections.GuardSQL); a larger one a
// transaction that locks the checkpoint and COPYs.
func (p *Projection) Apply(ctx context.Context, batch []eventstore.RecordedEvent) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(batch) > projections.PipelineMax || p.bulk {
		p.guard.Known = false
		return pgx.BeginTxFunc(ctx, p.pool, projections.ApplyTx, func(tx pgx.Tx) error { return p.ApplyTx(ctx, tx, batch) })
	}
	return projections.Guarded(ctx, &p.guard, func() error { return p.applyGuarded(ctx, batch) })
}

// applyGuarded is Apply as one guarded pgx batch.
func (p *Projection) applyGuarded(ctx context.Context, batch []eventstore.RecordedEvent) error {
	g := &p.guard
	if !g.Known {
		var c, pr int64
		if err := p.pool.QueryRow(ctx, projections.GuardReadSQL(p.schema+".checkpoint", "")).Scan(&g.Table, &c, &pr); err != nil {
			return fmt.Errorf("read audit checkpoint: %w", err)
		}
		g.Pos, g.Known = eventstore.Position{Commit: uint64(c), Prepare: uint64(pr)}, true
	}
	rows, streams, revs, hashes := freshRows(batch, g.Pos)
	if len(rows) == 0 {
		return nil
	}
	last := batch[len(batch)-1].Position
	b := &pgx.Batch{}
	b.Queue(projections.GuardSQL(p.schema+".checkpoint", "", ""), g.GuardArgs(last)...)
	b.Queue(`INSERT INTO `+p.schema+`.actions (`+strings.Join(actionColumns, ", ")+`)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::bigint[], $5::uuid[], $6::text[],
			$7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
			$14::text[], $15::text[])`, actionArrays(rows)...)
	b.Queue(headsSQL(p.schema), streams, revs, hashes)
	res := p.pool.SendBatch(ctx, b)
	_, err := res.Exec()
	err = projections.GuardErr(err)
	if cerr := res.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("audit: store actions, heads and checkpoint: %w", cerr)
	}
	if err != nil {
		return err
	}
	g.Pos = last
	return nil
}

// freshRows are the action rows of the events after cp and the new head of
// each stream they touch.
func freshRows(batch []eventstore.RecordedEvent, cp eventstore.Position) (rows [][]any, streams []string, revs []int64, hashes [][]byte) {
	heads := map[string]eventstore.RecordedEvent{}
	var order []string
	for _, e := range batch {
		if !cp.Less(e.Position) {
			continue
		}
		rows = append(rows, actionRow(e))
		if _, seen := heads[e.Stream]; !seen {
			order = append(order, e.Stream)
		}
		heads[e.Stream] = e
	}
	streams = make([]string, len(order))
	revs = make([]int64, len(order))
	hashes = make([][]byte, len(order))
	for i, s := range order {
		streams[i], revs[i], hashes[i] = text(s), int64(heads[s].Revision), heads[s].Hash
	}
	return rows, streams, revs, hashes
}

func headsSQL(schema string) string {
	return `INSERT INTO ` + schema + `.stream_heads (stream, revision, hash)
		SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[])
		ON CONFLICT (stream) DO UPDATE SET revision = excluded.revision, hash = excluded.hash`
}

// actionArrays turns action rows (actionRow) into one array per column.
func actionArrays(rows [][]any) []any {
	cols := make([]any, len(actionColumns))
	for j := range cols {
		switch rows[0][j].(type) {
		case int64:
			a := make([]int64, len(rows))
			for i, r := range rows {
				a[i] = r[j].(int64)
			}
			cols[j] = a
		case string:
			a := make([]string, len(rows))
			for i, r := range rows {
				a[i] = r[j].(string)
			}
			cols[j] = a
		case [16]byte:
			a := make([]pgtype.UUID, len(rows))
			for i, r := range rows {
				a[i] = pgtype.UUID{Bytes: r[j].([16]byte), Valid: true}
			}
			cols[j] = a
		case time.Time, *time.Time:
			a := make([]pgtype.Timestamptz, len(rows))
			for i, r := range rows {
				switch v := r[j].(type) {
				case time.Time:
					a[i] = pgtype.Timestamptz{Time: v, Valid: true}
				case *time.Time:
					if v != nil {
						a[i] = pgtype.Timestamptz{Time: *v, Valid: true}
					}
				}
			}
			cols[j] = a
		default:
			panic(fmt.Sprintf("audit: no array for column %s of type %T", actionColumns[j], rows[0][j]))
		}
	}
	return cols
}

// ApplyTx implements projections.SchemaProjection.
func (p *Projection) ApplyTx(ctx context.Context, tx pgx.Tx, batch []eventstore.RecordedEvent) error {
	cp, err := projections.LockSchemaCheckpoint(ctx, tx, p.schema)
	if err != nil {
		return err
	}
	rows, streams, revs, hashes := freshRows(batch, cp)
	if len(rows) == 0 {
		return nil
	}
	if p.bulk {
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return err
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{p.schema, "actions"}, actionColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("audit: store actions: %w", err)
	}
	last := batch[len(batch)-1].Position
	b := &pgx.Batch{}
	b.Queue(headsSQL(p.schema), streams, revs, hashes)
	b.Queue(`UPDATE `+p.schema+`.checkpoint SET pos_commit = $1, pos_prepare = $2`, int64(last.Commit), int64(last.Prepare))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("audit: store heads and checkpoint: %w", err)
	}
	return nil
}

var actionColumns = []string{"pos_commit", "pos_prepare", "stream", "revision", "event_id", "type", "recorded_at",
	"occurred_at", "client", "operator", "cert_subject", "channel", "remote_addr", "correlation_id", "causation_id"}

// actionRow reads who, where and why from the event's metadata. Metadata
// that is not domain.Metadata (events other tools wrote) still gives a row,
// with those fields empty: the audit trail lists every event.
func actionRow(e eventstore.RecordedEvent) []any {
	var md domain.Metadata
	_ = json.Unmarshal(e.Metadata, &md)
	var occurred *time.Time
	if !md.OccurredAt.IsZero() {
		occurred = &md.OccurredAt
	}
	return []any{int64(e.Position.Commit), int64(e.Position.Prepare), text(e.Stream), int64(e.Revision), [16]byte(e.ID),
		text(e.Type), e.RecordedAt, occurred, text(md.Actor.Client), text(md.Actor.Operator), text(md.Actor.CertSubject),
		text(md.Channel), text(md.RemoteAddr), text(md.CorrelationID), text(md.CausationID)}
}

// text makes s storable in a PostgreSQL text column, which refuses NUL and
// invalid UTF-8; a refused row would stop the projection for good.
func text(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
}

// CatchUp applies every stored event after p's checkpoint, for tools that
// need the projection current without running the projections runner.
func CatchUp(ctx context.Context, store eventstore.Store, p *Projection) error {
	for {
		cp, err := p.Checkpoint(ctx)
		if err != nil {
			return err
		}
		batch, err := store.ReadAll(ctx, cp, 5000)
		if err != nil {
			return fmt.Errorf("audit: catch up: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		if err := p.Apply(ctx, batch); err != nil {
			return err
		}
	}
}
