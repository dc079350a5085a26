package ecard

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// login_sessions: one row per scan-to-login session, shared by every
// instance. poll_hash is the SHA-256 of the page's poll secret (the
// secret itself is only in the page); the holder columns and the
// assertion's claims are set once, by the confirmation. The signed
// assertion is never stored: it is a bearer credential for five minutes,
// so a reader of this table must not be able to log in with it; each poll
// signs the stored claims (Ed25519 is deterministic: the same key gives
// the same token). The column assertion is from before that: the
// migration empties it. Rows an hour past their expiry are deleted as new
// sessions are made.
const loginDDL = `
CREATE SCHEMA IF NOT EXISTS ecard;
CREATE TABLE IF NOT EXISTS ecard.login_sessions (
	id            text        PRIMARY KEY,
	poll_hash     bytea       NOT NULL,
	created_at    timestamptz NOT NULL,
	expires_at    timestamptz NOT NULL,
	confirmed_at  timestamptz,
	channel       text,
	client        text,
	cardholder_id text,
	assertion     text
);
CREATE INDEX IF NOT EXISTS login_sessions_expiry ON ecard.login_sessions (expires_at);
ALTER TABLE ecard.login_sessions ADD COLUMN IF NOT EXISTS claims text;
UPDATE ecard.login_sessions SET assertion = NULL WHERE assertion IS NOT NULL;
`

// MigrateLogin creates the login sessions table; idempotent.
func MigrateLogin(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, loginDDL)
		return err
	})
	if err != nil {
		return fmt.Errorf("ecard: migrate login sessions: %w", err)
	}
	return nil
}
