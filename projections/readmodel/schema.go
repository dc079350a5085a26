package readmodel

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/projections"
)

// Schema is the PostgreSQL schema of the live read model. A rebuild
// (projections.Runner.Rebuild) fills a shadow schema and renames it over
// the live one.
const Schema = "readmodel"

// readModelDDL creates the read-model tables in schema {s}. Every column is
// derived from events only (never now()), except checkpoint.updated_at, so
// a rebuild reproduces the live rows exactly.
const readModelDDL = `
CREATE SCHEMA IF NOT EXISTS {s};

-- The single checkpoint row: position of the last applied event and the
-- last blacklist change seq, both written in each apply transaction.
CREATE TABLE IF NOT EXISTS {s}.checkpoint (
	id          boolean     PRIMARY KEY DEFAULT true CHECK (id),
	pos_commit  bigint      NOT NULL DEFAULT 0,
	pos_prepare bigint      NOT NULL DEFAULT 0,
	last_seq    bigint      NOT NULL DEFAULT 0,
	updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO {s}.checkpoint (id) VALUES (true) ON CONFLICT DO NOTHING;

-- One row per cardholder stream; state is the domain state the projection
-- folds events into (domain.Cardholder plus event times), as JSON. It is
-- bytea, not jsonb: only the projection reads it, and parsing it on every
-- write would cost the rebuild a third of its speed.
CREATE TABLE IF NOT EXISTS {s}.cardholders (
	stream         text        PRIMARY KEY,
	cardholder_id  text        NOT NULL,
	id_number      text        NOT NULL,
	name           text        NOT NULL,
	sex            text        NOT NULL,
	birth_date     text        NOT NULL,
	nationality    text        NOT NULL,
	region_code    text        NOT NULL,
	phone          text        NOT NULL,
	employer_code  text        NOT NULL,
	community_code text        NOT NULL,
	application_id text        NOT NULL,
	card_no        text        NOT NULL,
	card_status    text        NOT NULL,
	last_failure   text        NOT NULL,
	deceased       boolean     NOT NULL,
	registered_at  timestamptz,
	updated_at     timestamptz NOT NULL,
	revision       bigint      NOT NULL,
	state          bytea       NOT NULL
);

-- One row per numbered card, current or past; holder fields denormalised
-- for the per-employer, per-community and per-region queries.
CREATE TABLE IF NOT EXISTS {s}.cards (
	card_no         text        PRIMARY KEY,
	stream          text        NOT NULL,
	cardholder_id   text        NOT NULL,
	application_id  text        NOT NULL,
	kind            text        NOT NULL,
	source          text        NOT NULL,
	status          text        NOT NULL,
	is_current      boolean     NOT NULL,
	bank_code       text        NOT NULL,
	account_no      text        NOT NULL,
	chip_id         text        NOT NULL,
	vendor          text        NOT NULL,
	issued_on       date,
	expires_on      date,
	agency          text        NOT NULL,
	custody_at      text        NOT NULL,
	custody_from    text        NOT NULL,
	custody_handler text        NOT NULL,
	last_failure    text        NOT NULL,
	ecard_issued    boolean     NOT NULL,
	cancel_cause    text        NOT NULL,
	transferred_to  text        NOT NULL,
	region_code     text        NOT NULL,
	community_code  text        NOT NULL,
	employer_code   text        NOT NULL,
	applied_at      timestamptz NOT NULL,
	status_since    timestamptz NOT NULL,
	updated_at      timestamptz NOT NULL
);

-- Production and custody steps (制卡进度), one per event, in log order.
CREATE TABLE IF NOT EXISTS {s}.steps (
	pos_commit     bigint      NOT NULL,
	pos_prepare    bigint      NOT NULL,
	stream         text        NOT NULL,
	application_id text        NOT NULL,
	card_no        text        NOT NULL,
	step           text        NOT NULL,
	at             timestamptz NOT NULL,
	from_party     text        NOT NULL,
	to_party       text        NOT NULL,
	handler        text        NOT NULL,
	detail         text        NOT NULL,
	PRIMARY KEY (pos_commit, pos_prepare)
);

-- Cards that must be refused now, and the feed of changes to that set.
CREATE TABLE IF NOT EXISTS {s}.blacklist (
	card_no text        PRIMARY KEY,
	reason  text        NOT NULL,
	since   timestamptz NOT NULL,
	seq     bigint      NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.blacklist_changes (
	seq         bigint      PRIMARY KEY,
	card_no     text        NOT NULL,
	op          text        NOT NULL CHECK (op IN ('add', 'remove')),
	reason      text        NOT NULL,
	at          timestamptz NOT NULL,
	pos_commit  bigint      NOT NULL,
	pos_prepare bigint      NOT NULL
);
`

// readModelIndexes are the secondary indexes. A rebuild creates them after
// loading (much faster than maintaining them row by row).
const readModelIndexes = `
CREATE INDEX IF NOT EXISTS cardholders_cardholder_id ON {s}.cardholders (cardholder_id);
CREATE INDEX IF NOT EXISTS cardholders_employer ON {s}.cardholders (employer_code, cardholder_id);
CREATE INDEX IF NOT EXISTS cardholders_community ON {s}.cardholders (community_code, cardholder_id);
CREATE INDEX IF NOT EXISTS cards_stream ON {s}.cards (stream);
CREATE INDEX IF NOT EXISTS cards_employer ON {s}.cards (employer_code, card_no);
CREATE INDEX IF NOT EXISTS cards_community ON {s}.cards (community_code, card_no);
CREATE INDEX IF NOT EXISTS steps_application ON {s}.steps (application_id, pos_commit, pos_prepare);
CREATE INDEX IF NOT EXISTS steps_card ON {s}.steps (card_no, pos_commit, pos_prepare);
`

// migrateLockKey serialises concurrent Migrate calls.
var migrateLockKey = projections.LockKey("migrate")

func schemaDDL(schema string) string { return strings.ReplaceAll(readModelDDL, "{s}", schema) }

func indexDDL(schema string) string { return strings.ReplaceAll(readModelIndexes, "{s}", schema) }

// Migrate creates the read-model tables if they are missing. It is
// idempotent and safe to run from several processes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrateLockKey); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, schemaDDL(Schema)+indexDDL(Schema)); err != nil {
			return err
		}
		// Databases created before state became bytea.
		_, err := tx.Exec(ctx, `DO $$ BEGIN
			IF (SELECT data_type FROM information_schema.columns WHERE table_schema = '`+Schema+`'
				AND table_name = 'cardholders' AND column_name = 'state') = 'jsonb' THEN
				ALTER TABLE `+Schema+`.cardholders ALTER COLUMN state TYPE bytea USING convert_to(state::text, 'UTF8');
			END IF; END $$`)
		return err
	})
	if err != nil {
		return fmt.Errorf("readmodel: migrate: %w", err)
	}
	return nil
}
