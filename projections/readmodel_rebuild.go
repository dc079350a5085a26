package projections

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Shadow implements Rebuildable: an empty copy of the schema, named with
// rebuildSuffix, left over copies dropped.
func (m *ReadModel) Shadow(ctx context.Context) (Projection, error) {
	shadow := m.schema + rebuildSuffix
	err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DROP SCHEMA IF EXISTS "+shadow+" CASCADE"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schemaDDL(shadow))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create shadow schema %s: %w", shadow, err)
	}
	return &ReadModel{pool: m.pool, schema: shadow, bulk: true}, nil
}

// Swap implements Rebuildable. Locking the live checkpoint row's table
// stops live applies (each starts by locking that row) and makes readers
// wait for the switch; inside the lock the shadow catches up to where the
// live model is, then the schemas trade places. Because the live runner
// reads the checkpoint again in its next transaction and skips what is
// already stored, it simply continues on the new tables.
//
// Blacklist seqs survive a rebuild: they are numbered by replaying the same
// log in the same order, so the rebuilt feed has the same seqs as the live
// one, and consumers keep their position. (If the blacklist rules changed
// in between, consumers should start again from a snapshot.)
func (m *ReadModel) Swap(ctx context.Context, shadow Projection, readAll ReadAllFunc) error {
	sh, ok := shadow.(*ReadModel)
	if !ok || sh.schema == m.schema {
		return fmt.Errorf("swap %s: not a shadow of it", m.schema)
	}
	// Indexes first, outside the lock: the top-up below is small, the index
	// builds are not.
	if _, err := m.pool.Exec(ctx, indexDDL(sh.schema)); err != nil {
		return fmt.Errorf("index shadow schema: %w", err)
	}
	return pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE "+m.schema+".checkpoint IN ACCESS EXCLUSIVE MODE"); err != nil {
			return fmt.Errorf("lock live checkpoint: %w", err)
		}
		live, _, err := readCheckpoint(ctx, tx, m.schema, false)
		if err != nil {
			return err
		}
		at, _, err := readCheckpoint(ctx, tx, sh.schema, false)
		if err != nil {
			return err
		}
		for at.Less(live) {
			events, err := readAll(ctx, at, 5000)
			if err != nil {
				return fmt.Errorf("top up shadow after %s: %w", at, err)
			}
			if len(events) == 0 {
				return fmt.Errorf("top up shadow: store ends at %s before live checkpoint %s", at, live)
			}
			top := *sh
			top.bulk = false // this transaction makes the rebuild live: durable
			if err := top.applyTx(ctx, tx, events); err != nil {
				return fmt.Errorf("top up shadow: %w", err)
			}
			at = events[len(events)-1].Position
		}
		if _, err := tx.Exec(ctx, "DROP SCHEMA "+m.schema+" CASCADE"); err != nil {
			return fmt.Errorf("drop live schema: %w", err)
		}
		if _, err := tx.Exec(ctx, "ALTER SCHEMA "+sh.schema+" RENAME TO "+m.schema); err != nil {
			return fmt.Errorf("rename shadow schema: %w", err)
		}
		return nil
	})
}
