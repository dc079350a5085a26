package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
	"github.com/cardledger/cardledger/internal/testpg"
)

// preChainSchema is the table as it was before the hash chain.
const preChainSchema = `
CREATE TABLE eventstore_events (
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
CREATE FUNCTION eventstore_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'append-only'; END $$;
CREATE TRIGGER eventstore_events_no_change BEFORE UPDATE OR DELETE ON eventstore_events
	FOR EACH ROW EXECUTE FUNCTION eventstore_events_append_only();`

// A database written before the chain existed gets its history chained by
// Migrate, and appends continue the chain from there.
func TestMigrateChainsExistingHistory(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	url := testpg.NewDatabase(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, preChainSchema); err != nil {
		t.Fatal(err)
	}
	for _, row := range []struct {
		stream string
		rev    int
	}{{"card-1", 0}, {"card-2", 0}, {"card-1", 1}, {"card-1", 2}} {
		if _, err := conn.Exec(ctx, `INSERT INTO eventstore_events (stream, revision, id, type, data, metadata)
			VALUES ($1, $2, $3, 'Old', '{"old":true}', '')`, row.stream, row.rev, [16]byte(uuid.New())); err != nil {
			t.Fatal(err)
		}
	}

	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Append(ctx, "card-1", eventstore.Exact(2), []eventstore.EventData{event("New")}); err != nil {
		t.Fatal(err)
	}
	for stream, want := range map[string]int{"card-1": 4, "card-2": 1} {
		events, err := s.ReadStream(ctx, stream, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		var w chain.Walker
		for _, e := range events {
			if err := w.Next(e); err != nil {
				t.Errorf("after migration: %v", err)
			}
		}
		if len(events) != want {
			t.Errorf("%s has %d events, want %d", stream, len(events), want)
		}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE eventstore_events SET type = 'Changed'`); err == nil {
		t.Error("the append-only trigger is off after the migration")
	}
	if err := s.Migrate(ctx); err != nil {
		t.Errorf("Migrate again: %v", err)
	}
}

// BenchmarkAppendBatch: one append of 10 events to a new stream, chained
// in Go (appendHashedSQL; appendSQL would chain them step by step).
func BenchmarkAppendBatch(b *testing.B) {
	s, err := Open(context.Background(), benchURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	data := []byte(`{"card_no":"D12345678","holder":"张三","reason":"lost"}`)
	meta := []byte(`{"causation":"cmd-1"}`)
	runParallel(b, func(ctx context.Context, i int64) error {
		events := make([]eventstore.EventData, 10)
		for k := range events {
			events[k] = eventstore.EventData{ID: uuid.New(), Type: "CardReported", Data: data, Metadata: meta}
		}
		_, err := s.Append(ctx, "batch-"+uuid.NewString(), eventstore.NoStream(), events)
		return err
	})
}
