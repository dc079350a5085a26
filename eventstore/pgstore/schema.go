package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// migrateLockKey serialises concurrent Migrate calls (two services starting
// at once would otherwise race on CREATE ... IF NOT EXISTS).
const migrateLockKey = 0x63_6c_65_76_73 // "clevs"

// schema is idempotent. The primary key (xid, seq) is the global position
// and serves ReadAll; (stream, revision) serves ReadStream and enforces
// optimistic concurrency; id enforces idempotency.
const schema = `
CREATE TABLE IF NOT EXISTS eventstore_events (
	xid         xid8        NOT NULL DEFAULT pg_current_xact_id(),
	seq         bigint      GENERATED ALWAYS AS IDENTITY,
	stream      text        NOT NULL,
	revision    bigint      NOT NULL CHECK (revision >= 0),
	id          uuid        NOT NULL,
	type        text        NOT NULL,
	data        bytea       NOT NULL,
	metadata    bytea       NOT NULL,
	recorded_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (xid, seq),
	CONSTRAINT eventstore_events_stream_revision UNIQUE (stream, revision),
	CONSTRAINT eventstore_events_id UNIQUE (id)
);

CREATE OR REPLACE FUNCTION eventstore_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'eventstore_events is append-only (% refused)', TG_OP;
END $$;

CREATE OR REPLACE TRIGGER eventstore_events_no_change
	BEFORE UPDATE OR DELETE ON eventstore_events
	FOR EACH ROW EXECUTE FUNCTION eventstore_events_append_only();

CREATE OR REPLACE TRIGGER eventstore_events_no_truncate
	BEFORE TRUNCATE ON eventstore_events
	FOR EACH STATEMENT EXECUTE FUNCTION eventstore_events_append_only();
`

// Migrate creates the events table and its guards if they are missing. It
// is idempotent and safe to run from several processes at once.
func (s *Store) Migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}
