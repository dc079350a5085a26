package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/eventstore"
)

// SchemaProjection is a projection kept in PostgreSQL tables of one schema,
// with its position in {schema}.checkpoint (columns pos_commit and
// pos_prepare, one row) locked by every Apply before it writes. Declaring
// its storage is all it takes to be rebuilt: the runner loads a shadow
// schema from the log and swaps it in (schemaRebuild).
type SchemaProjection interface {
	Projection
	// Storage declares the projection's tables.
	Storage() SchemaStorage
	// In returns the same projection writing into schema; shadow is set for
	// a rebuild's shadow, whose commits need not be durable (a crash only
	// loses storage nobody reads, and the next rebuild starts over).
	In(schema string, shadow bool) SchemaProjection
	// ApplyTx is Apply inside tx: the swap tops the shadow up in the
	// transaction that swaps it in.
	ApplyTx(ctx context.Context, tx pgx.Tx, batch []eventstore.RecordedEvent) error
}

// SchemaStorage is where a SchemaProjection keeps its rows.
type SchemaStorage struct {
	Pool   *pgxpool.Pool
	Schema string // the live schema
	// Tables are the tables the projection owns, checkpoint included, when
	// the schema also holds tables that are not derived from the log (the
	// audit trail's signed digests): a swap replaces only these. Empty: the
	// projection owns the whole schema, and a swap replaces the schema.
	Tables []string
	// DDL creates the schema, the tables and the checkpoint row in schema;
	// idempotent.
	DDL func(schema string) string
	// Indexes, if set, creates the secondary indexes in schema. A rebuild
	// runs it after loading (much faster than maintaining them row by row).
	Indexes func(schema string) string
}

// rebuildable is p's shadow-and-swap rebuild, if it has one.
func rebuildable(p Projection) (Rebuildable, bool) {
	if rb, ok := p.(Rebuildable); ok {
		return rb, true
	}
	if sp, ok := p.(SchemaProjection); ok {
		return schemaRebuild{sp}, true
	}
	return nil, false
}

// CanRebuild reports whether the named projection has a shadow-and-swap
// rebuild.
func (r *Runner) CanRebuild(name string) (bool, error) {
	e, err := r.entry(name)
	if err != nil {
		return false, err
	}
	_, ok := rebuildable(e.p)
	return ok, nil
}

// schemaRebuild rebuilds a SchemaProjection into {schema}_rebuild.
type schemaRebuild struct{ SchemaProjection }

// Shadow implements Rebuildable: an empty copy of the tables, left-over
// copies dropped.
func (s schemaRebuild) Shadow(ctx context.Context) (Projection, error) {
	st := s.Storage()
	shadow := st.Schema + rebuildSuffix
	err := pgx.BeginFunc(ctx, st.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+shadow+" CASCADE"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, st.DDL(shadow))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create shadow schema %s: %w", shadow, err)
	}
	return s.In(shadow, true), nil
}

// DropShadow implements ShadowDropper.
func (s schemaRebuild) DropShadow(ctx context.Context) error {
	st := s.Storage()
	if _, err := st.Pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+st.Schema+rebuildSuffix+" CASCADE"); err != nil {
		return fmt.Errorf("drop shadow schema %s%s: %w", st.Schema, rebuildSuffix, err)
	}
	return nil
}

// Swap implements Rebuildable. Locking the live checkpoint table stops live
// applies (each starts by locking its row, or, guarded, by updating it) and
// makes readers of the checkpoint wait for the switch; inside the lock the
// shadow catches up to where the live projection is, then the shadow's
// tables take the live ones' place. A live writer waiting on the lock looks
// the table up again once it gets it, and so continues on the new tables,
// skipping what they already hold; a guarded one finds a checkpoint table
// of another oid, fails its batch and reads the new checkpoint (rows it had
// read from the old tables are not used).
func (s schemaRebuild) Swap(ctx context.Context, shadow Projection, readAll ReadAllFunc) error {
	st := s.Storage()
	sh, ok := shadow.(SchemaProjection)
	if !ok || sh.Storage().Schema == st.Schema {
		return fmt.Errorf("swap %s: not a shadow of it", st.Schema)
	}
	shSchema := sh.Storage().Schema
	// Indexes first, outside the lock: the top-up below is small, the index
	// builds are not.
	if st.Indexes != nil {
		if _, err := st.Pool.Exec(ctx, st.Indexes(shSchema)); err != nil {
			return fmt.Errorf("index shadow schema: %w", err)
		}
	}
	live := sh.In(shSchema, false) // the top-up commits with the swap: durable
	return pgx.BeginFunc(ctx, st.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE "+st.Schema+".checkpoint IN ACCESS EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("lock live checkpoint: %w", err)
		}
		want, err := SchemaCheckpoint(ctx, tx, st.Schema)
		if err != nil {
			return err
		}
		at, err := SchemaCheckpoint(ctx, tx, shSchema)
		if err != nil {
			return err
		}
		for at.Less(want) {
			events, err := readAll(ctx, at, 5000)
			if err != nil {
				return fmt.Errorf("top up shadow after %s: %w", at, err)
			}
			if len(events) == 0 {
				return fmt.Errorf("top up shadow: store ends at %s before live checkpoint %s", at, want)
			}
			if err := live.ApplyTx(ctx, tx, events); err != nil {
				return fmt.Errorf("top up shadow: %w", err)
			}
			at = events[len(events)-1].Position
		}
		// The shadow's applies may have turned synchronous commit off for
		// this transaction; the swap itself must be durable.
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = on"); err != nil {
			return err
		}
		if len(st.Tables) == 0 {
			if _, err := tx.Exec(ctx, "DROP SCHEMA "+st.Schema+" CASCADE"); err != nil {
				return fmt.Errorf("drop live schema: %w", err)
			}
			if _, err := tx.Exec(ctx, "ALTER SCHEMA "+shSchema+" RENAME TO "+st.Schema); err != nil {
				return fmt.Errorf("rename shadow schema: %w", err)
			}
			return nil
		}
		for _, t := range st.Tables {
			if _, err := tx.Exec(ctx, "DROP TABLE "+st.Schema+"."+t+" CASCADE"); err != nil {
				return fmt.Errorf("drop live table %s: %w", t, err)
			}
			if _, err := tx.Exec(ctx, "ALTER TABLE "+shSchema+"."+t+" SET SCHEMA "+st.Schema); err != nil {
				return fmt.Errorf("move shadow table %s: %w", t, err)
			}
		}
		if _, err := tx.Exec(ctx, "DROP SCHEMA "+shSchema+" CASCADE"); err != nil {
			return fmt.Errorf("drop shadow schema: %w", err)
		}
		return nil
	})
}

// rebuildSuffix names a SchemaProjection's shadow schema during a rebuild.
const rebuildSuffix = "_rebuild"

// QueryRower is what reading a checkpoint needs: a pool, a connection or
// a transaction.
type QueryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// SchemaCheckpoint reads the checkpoint row of a schema projection.
func SchemaCheckpoint(ctx context.Context, q QueryRower, schema string) (eventstore.Position, error) {
	return scanCheckpoint(q.QueryRow(ctx, "SELECT pos_commit, pos_prepare FROM "+schema+".checkpoint"), schema)
}

// LockSchemaCheckpoint reads the checkpoint row of a schema projection in
// tx and locks it until tx ends: the writer applying a batch in a
// transaction holds it, so another writer waits and then sees the new
// position.
func LockSchemaCheckpoint(ctx context.Context, tx pgx.Tx, schema string) (eventstore.Position, error) {
	return scanCheckpoint(tx.QueryRow(ctx, "SELECT pos_commit, pos_prepare FROM "+schema+".checkpoint FOR UPDATE"), schema)
}

func scanCheckpoint(row pgx.Row, schema string) (eventstore.Position, error) {
	var c, p int64
	if err := row.Scan(&c, &p); err != nil {
		return eventstore.Position{}, fmt.Errorf("read checkpoint of %s: %w", schema, err)
	}
	return eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}, nil
}
