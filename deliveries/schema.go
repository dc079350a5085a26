package deliveries

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockKey serialises concurrent Migrate calls.
const migrateLockKey = 0x64_65_6c_69_76 // "deliv"

// subscriptions: one row per subscription with its checkpoint (commit,
// prepare of the last event delivered or dead-lettered) and the attempts
// made on the event after it. The secret is the HMAC key shown once at
// creation, sealed (secrets.go); bytea since the sealed form is binary
// (before, it was text and in clear: the DO block converts such a table,
// SealSecrets then seals its rows).
//
// generation counts redeliveries: a worker that loaded the subscription
// before one writes nothing more (its updates name the generation).
//
// dead_letters: events given up after MaxAttempts, per subscription.
// checkpoint: the projection's own checkpoint, the end of the last batch
// every subscription reached.
const schemaDDL = `
CREATE SCHEMA IF NOT EXISTS deliveries;
CREATE TABLE IF NOT EXISTS deliveries.subscriptions (
	id          uuid        PRIMARY KEY,
	owner       text        NOT NULL,
	url         text        NOT NULL,
	event_types text[]      NOT NULL,
	region      text        NOT NULL DEFAULT '',
	bank        text        NOT NULL DEFAULT '',
	secret      bytea       NOT NULL,
	pos_commit  bigint      NOT NULL DEFAULT 0,
	pos_prepare bigint      NOT NULL DEFAULT 0,
	delivered   bigint      NOT NULL DEFAULT 0,
	attempts    int         NOT NULL DEFAULT 0,
	last_error  text        NOT NULL DEFAULT '',
	generation  bigint      NOT NULL DEFAULT 0,
	created_at  timestamptz NOT NULL DEFAULT now()
);
DO $$ BEGIN
	IF (SELECT data_type FROM information_schema.columns WHERE table_schema = 'deliveries'
		AND table_name = 'subscriptions' AND column_name = 'secret') = 'text' THEN
		ALTER TABLE deliveries.subscriptions ALTER COLUMN secret TYPE bytea USING convert_to(secret, 'UTF8');
	END IF;
END $$;
CREATE TABLE IF NOT EXISTS deliveries.dead_letters (
	subscription_id uuid        NOT NULL REFERENCES deliveries.subscriptions(id),
	event_id        uuid        NOT NULL,
	pos_commit      bigint      NOT NULL,
	pos_prepare     bigint      NOT NULL,
	type            text        NOT NULL,
	stream          text        NOT NULL,
	attempts        int         NOT NULL,
	last_error      text        NOT NULL,
	at              timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (subscription_id, event_id)
);
-- merchant: a payment merchant's notifications (merchants.go); its url is
-- '' and each order's notify_url is called instead.
ALTER TABLE deliveries.subscriptions ADD COLUMN IF NOT EXISTS merchant text NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS deliveries.checkpoint (
	name        text   PRIMARY KEY,
	pos_commit  bigint NOT NULL,
	pos_prepare bigint NOT NULL
);
`

// Migrate creates the delivery tables; idempotent.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schemaDDL)
		return err
	})
	if err != nil {
		return fmt.Errorf("deliveries: migrate: %w", err)
	}
	return nil
}
