package audit

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockKey serialises concurrent Migrate calls.
const migrateLockKey = 0x61_75_64_69_74 // "audit"

// schema is idempotent. actions has one row per event (its position is
// the key, so a replayed event cannot be stored twice); stream_heads the
// last event of every stream, which digests list; digests and
// digest_heads the signed digests.
const schema = `
CREATE SCHEMA IF NOT EXISTS audit;

CREATE TABLE IF NOT EXISTS audit.checkpoint (
	one         boolean PRIMARY KEY DEFAULT true CHECK (one),
	pos_commit  bigint  NOT NULL,
	pos_prepare bigint  NOT NULL
);
INSERT INTO audit.checkpoint VALUES (true, 0, 0) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS audit.actions (
	pos_commit     bigint      NOT NULL,
	pos_prepare    bigint      NOT NULL,
	stream         text        NOT NULL,
	revision       bigint      NOT NULL,
	event_id       uuid        NOT NULL,
	type           text        NOT NULL,
	recorded_at    timestamptz NOT NULL,
	occurred_at    timestamptz,
	client         text        NOT NULL,
	operator       text        NOT NULL,
	cert_subject   text        NOT NULL,
	channel        text        NOT NULL,
	remote_addr    text        NOT NULL,
	correlation_id text        NOT NULL,
	causation_id   text        NOT NULL,
	PRIMARY KEY (pos_commit, pos_prepare)
);
CREATE INDEX IF NOT EXISTS actions_client ON audit.actions (client, recorded_at);
CREATE INDEX IF NOT EXISTS actions_operator ON audit.actions (operator, recorded_at);
CREATE INDEX IF NOT EXISTS actions_recorded_at ON audit.actions (recorded_at);

CREATE TABLE IF NOT EXISTS audit.stream_heads (
	stream   text   PRIMARY KEY,
	revision bigint NOT NULL,
	hash     bytea  NOT NULL
);

CREATE TABLE IF NOT EXISTS audit.digests (
	id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	created_at timestamptz NOT NULL,
	position   text        NOT NULL,
	streams    bigint      NOT NULL,
	root       bytea       NOT NULL,
	public_key bytea       NOT NULL,
	signature  bytea       NOT NULL
);

CREATE TABLE IF NOT EXISTS audit.digest_heads (
	digest_id bigint NOT NULL REFERENCES audit.digests (id),
	stream    text   NOT NULL,
	revision  bigint NOT NULL,
	hash      bytea  NOT NULL,
	PRIMARY KEY (digest_id, stream)
);
`

// Migrate creates the audit schema if it is missing; idempotent and safe
// to run from several processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit: migrate: %w", err)
	}
	return nil
}
