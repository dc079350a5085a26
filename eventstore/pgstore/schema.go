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
// optimistic concurrency; id enforces idempotency; hash chains each event
// to the previous one of its stream (eventstore_chain_hash, the SQL form of
// eventstore/chain.Hash).
//
// A table created before the chain existed gets the hash column once, with
// its history chained as it is then; from that moment on changes to it are
// detectable.
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
	hash        bytea       NOT NULL,
	PRIMARY KEY (xid, seq),
	CONSTRAINT eventstore_events_stream_revision UNIQUE (stream, revision),
	CONSTRAINT eventstore_events_id UNIQUE (id)
);

-- The byte layout is eventstore/chain's (see its package doc): keep both
-- in step; the conformance suite compares them.
CREATE OR REPLACE FUNCTION eventstore_chain_hash(prev bytea, stream text, revision bigint,
	id uuid, type text, data bytea, metadata bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT sha256(convert_to('cardledger/chain/v1', 'UTF8')
		|| int8send(octet_length(convert_to(stream, 'UTF8'))::bigint) || convert_to(stream, 'UTF8')
		|| int8send(revision)
		|| uuid_send(id)
		|| int8send(octet_length(convert_to(type, 'UTF8'))::bigint) || convert_to(type, 'UTF8')
		|| int8send(octet_length(data)::bigint) || data
		|| int8send(octet_length(metadata)::bigint) || metadata
		|| int8send(octet_length(coalesce(prev, ''::bytea))::bigint) || coalesce(prev, ''::bytea))
$$;

DO $$
DECLARE
	r      record;
	prev   bytea;
	stream text;
BEGIN
	IF EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema()
			AND table_name = 'eventstore_events' AND column_name = 'hash') THEN
		RETURN;
	END IF;
	ALTER TABLE eventstore_events ADD COLUMN hash bytea;
	ALTER TABLE eventstore_events DISABLE TRIGGER eventstore_events_no_change;
	FOR r IN SELECT * FROM eventstore_events ORDER BY stream, revision LOOP
		IF stream IS DISTINCT FROM r.stream THEN
			stream := r.stream;
			prev := NULL;
		END IF;
		prev := eventstore_chain_hash(prev, r.stream, r.revision, r.id, r.type, r.data, r.metadata);
		UPDATE eventstore_events SET hash = prev WHERE xid = r.xid AND seq = r.seq;
	END LOOP;
	ALTER TABLE eventstore_events ENABLE TRIGGER eventstore_events_no_change;
	ALTER TABLE eventstore_events ALTER COLUMN hash SET NOT NULL;
END $$;

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
