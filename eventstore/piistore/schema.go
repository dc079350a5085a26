package piistore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockKey serialises concurrent Migrate calls.
const migrateLockKey = 0x63_6c_70_69_69 // "clpii"

// schema: one row per data key. A live key has wrapped and master_key_id;
// an erased one has neither, only erased_at, so the row itself records that
// the person's data was erased (generation 0 is the tombstone erasure always
// writes, for a subject that never had a key too).
const schema = `
CREATE TABLE IF NOT EXISTS pii_data_keys (
	subject       text        NOT NULL,
	generation    integer     NOT NULL CHECK (generation >= 0),
	wrapped       bytea,
	master_key_id text,
	created_at    timestamptz NOT NULL DEFAULT now(),
	erased_at     timestamptz,
	PRIMARY KEY (subject, generation),
	CONSTRAINT pii_data_keys_live_or_erased CHECK (
		(wrapped IS NOT NULL AND master_key_id IS NOT NULL AND erased_at IS NULL) OR
		(wrapped IS NULL AND master_key_id IS NULL AND erased_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS pii_data_keys_master ON pii_data_keys (master_key_id) WHERE master_key_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS pii_blobs (
	subject    text        NOT NULL,
	address    text        NOT NULL,
	generation integer     NOT NULL CHECK (generation > 0),
	sealed     bytea       NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (subject, address)
);
`

// pii_blobs: personal data too large for an event (photos), one row per
// person and content address, sealed under the person's data key of that
// generation (blobs.go). Erasure deletes the rows with the keys.

// Migrate creates the data-key and blob tables in the read-model database.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate pii_data_keys: %w", err)
	}
	return nil
}
