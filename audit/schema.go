package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockKey serialises concurrent Migrate calls.
const migrateLockKey = 0x61_75_64_69_74 // "audit"

// Schema is the live schema of the audit trail.
const Schema = "audit"

// projectionTables are the tables the projection derives from the log alone;
// a rebuild replaces them, and keeps the signed digests.
var projectionTables = []string{"checkpoint", "actions", "stream_heads"}

// projectionDDL creates the projection's tables in schema {s}; idempotent.
// actions has one row per event (its position is the key, so a replayed
// event cannot be stored twice); stream_heads the last event of every
// stream, which digests list.
const projectionDDL = `
CREATE SCHEMA IF NOT EXISTS {s};

CREATE TABLE IF NOT EXISTS {s}.checkpoint (
	one         boolean PRIMARY KEY DEFAULT true CHECK (one),
	pos_commit  bigint  NOT NULL,
	pos_prepare bigint  NOT NULL
);
INSERT INTO {s}.checkpoint VALUES (true, 0, 0) ON CONFLICT DO NOTHING;

CREATE TABLE IF NOT EXISTS {s}.actions (
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
CREATE TABLE IF NOT EXISTS {s}.stream_heads (
	stream   text   PRIMARY KEY,
	revision bigint NOT NULL,
	hash     bytea  NOT NULL
);
`

// projectionIndexes are the secondary indexes of actions, which a rebuild
// builds after loading.
const projectionIndexes = `
CREATE INDEX IF NOT EXISTS actions_client ON {s}.actions (client, recorded_at);
CREATE INDEX IF NOT EXISTS actions_operator ON {s}.actions (operator, recorded_at);
CREATE INDEX IF NOT EXISTS actions_recorded_at ON {s}.actions (recorded_at);
`

func schemaDDL(schema string) string { return strings.ReplaceAll(projectionDDL, "{s}", schema) }

func indexDDL(schema string) string { return strings.ReplaceAll(projectionIndexes, "{s}", schema) }

// digestsDDL creates the signed digests, which are not derived from the log
// (each signs the heads at its time) and so are never rebuilt.
const digestsDDL = `

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
		_, err := tx.Exec(ctx, schemaDDL(Schema)+indexDDL(Schema)+digestsDDL)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit: migrate: %w", err)
	}
	return nil
}
