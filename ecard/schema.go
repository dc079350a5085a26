package ecard

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema holds the e-card tables.
const Schema = "ecard"

// migrateLockKey serialises concurrent Migrate calls.
const migrateLockKey = 0x65_63_61_72_64 // "ecard"

// signing_keys: one row per key; the seed is sealed (auth.SecretKeys under
// a key derived from the master key, label "ecard-signing-key:KID"), never
// in clear. not_after is null until a rotation retires the key.
//
// verifications: one row per code that verified, keyed by its code id, so
// a code verifies once across every instance. expires_at is the code's
// expiry (null in rows written before it was kept): PruneVerifications
// deletes a row once the code has expired everywhere and the risk check's
// window has passed.
const schemaDDL = `
CREATE SCHEMA IF NOT EXISTS ecard;
CREATE TABLE IF NOT EXISTS ecard.signing_keys (
	kid         bigint      PRIMARY KEY CHECK (kid >= 0 AND kid <= 4294967295),
	public_key  bytea       NOT NULL,
	sealed_seed bytea       NOT NULL,
	not_before  timestamptz NOT NULL,
	not_after   timestamptz,
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ecard.verifications (
	code_id         bytea       PRIMARY KEY,
	verification_id uuid        NOT NULL,
	cardholder_id   text        NOT NULL,
	card_no         text        NOT NULL,
	channel         text        NOT NULL,
	terminal        text        NOT NULL,
	region          text        NOT NULL,
	verified_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS verifications_holder_time ON ecard.verifications (cardholder_id, verified_at);
ALTER TABLE ecard.verifications ADD COLUMN IF NOT EXISTS expires_at timestamptz;
`

// Migrate creates the e-card tables; idempotent.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schemaDDL)
		return err
	})
	if err != nil {
		return fmt.Errorf("ecard: migrate: %w", err)
	}
	return nil
}
