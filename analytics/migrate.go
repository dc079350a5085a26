package analytics

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// migration is one schema step. Statements are idempotent (IF NOT EXISTS),
// so a step that failed half-way can simply run again. Everything here must
// run on ClickHouse 18.16 and on a current server: no LowCardinality (needs
// a setting on 18.16), DateTime64, Map, TTL or window functions.
type migration struct {
	version    uint32
	name       string
	statements []string
}

// usageKindEnum and usageChannelEnum follow domain.UsageKinds and
// domain.UsageChannels; a test keeps them in step.
const (
	usageKindEnum    = `Enum8('medical_settlement' = 1, 'pharmacy_purchase' = 2, 'identity_auth' = 3, 'rights_query' = 4, 'transit' = 5, 'other' = 6)`
	usageChannelEnum = `Enum8('card' = 1, 'ecard_qr' = 2, 'online' = 3)`
)

func migrations() []migration {
	return []migration{
		{1, "usage and lifecycle facts, cardholder and card dimensions, checkpoints", []string{
			// One row per usage event. home_city is the card's home city when
			// the event was projected; day and hour are China time. Region
			// codes are numbers (0: unknown) and holder_key is a 64-bit hash
			// of the cardholder id, because grouping and counting distinct
			// values on integers is several times faster than on strings.
			// Amounts are integer fen (分): exact, and summed as Int64, which
			// is faster than Decimal and the same on every server version. The sort
			// key starts with card_no so one person's history is a range read;
			// the city-wide aggregates scan a few narrow columns of the
			// months they ask for (partition pruning).
			`CREATE TABLE IF NOT EXISTS usage_facts (
				event_id UUID,
				pos_commit UInt64,
				pos_prepare UInt64,
				record_id String,
				card_no String,
				holder String,
				holder_key UInt64,
				day Date,
				at DateTime('UTC'),
				hour UInt8,
				kind ` + usageKindEnum + `,
				channel ` + usageChannelEnum + `,
				amount_fen Int64,
				use_region UInt32,
				use_city UInt32,
				home_city UInt32,
				merchant String,
				category String
			) ENGINE = ReplacingMergeTree
			PARTITION BY toYYYYMM(day)
			ORDER BY (card_no, day, event_id)`,
			// One row per card lifecycle event. blacklist_delta is +1 when the
			// card enters the blacklist (lost, temporarily lost, cancelled from
			// a valid state), -1 when it leaves it, else 0; its running sum is
			// the blacklist size.
			`CREATE TABLE IF NOT EXISTS card_events (
				event_id UUID,
				pos_commit UInt64,
				pos_prepare UInt64,
				day Date,
				at DateTime('UTC'),
				holder String,
				card_no String,
				event String,
				detail String,
				home_city String,
				blacklist_delta Int8
			) ENGINE = ReplacingMergeTree
			PARTITION BY toYYYYMM(day)
			ORDER BY (day, event, event_id)`,
			// Dimensions: the latest row per key (highest version, the event's
			// stream revision) wins; readers use FINAL or argMax, which is cheap
			// on tables of one row per person or card.
			`CREATE TABLE IF NOT EXISTS holders (
				holder String,
				home_region String,
				home_city String,
				version UInt64
			) ENGINE = ReplacingMergeTree(version)
			ORDER BY holder`,
			`CREATE TABLE IF NOT EXISTS cards (
				card_no String,
				holder String,
				version UInt64
			) ENGINE = ReplacingMergeTree(version)
			ORDER BY card_no`,
			`CREATE TABLE IF NOT EXISTS projection_checkpoints (
				name String,
				pos_commit UInt64,
				pos_prepare UInt64,
				event_at DateTime('UTC'),
				written_at DateTime('UTC'),
				seq UInt64
			) ENGINE = ReplacingMergeTree(seq)
			ORDER BY name`,
		}},
	}
}

// Migrate brings the ClickHouse schema of the connected database up to date
// (on every node of the cluster OnCluster names, if any). It is safe to run
// concurrently with readers and more than once.
func Migrate(ctx context.Context, conn driver.Conn, opts ...Option) error {
	if o := optionsOf(opts); o.cluster != "" {
		return migrateCluster(ctx, conn, o.cluster)
	}
	if err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32,
		name String,
		applied_at DateTime('UTC')
	) ENGINE = MergeTree ORDER BY version`); err != nil {
		return fmt.Errorf("clickhouse migrate: create schema_migrations: %w", err)
	}
	return applyMigrations(ctx, conn, func(stmt string) ([]string, error) { return []string{stmt}, nil })
}

// applyMigrations runs the migrations schema_migrations does not list yet,
// each statement in the form(s) form gives it, and records them.
func applyMigrations(ctx context.Context, conn driver.Conn, form func(string) ([]string, error)) error {
	var current uint32
	if err := conn.QueryRow(ctx, `SELECT toUInt32(max(version)) FROM schema_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("clickhouse migrate: read version: %w", err)
	}
	for _, m := range migrations() {
		if m.version <= current {
			continue
		}
		for i, stmt := range m.statements {
			stmts, err := form(stmt)
			if err != nil {
				return fmt.Errorf("clickhouse migrate: %d (%s) statement %d: %w", m.version, m.name, i+1, err)
			}
			for _, st := range stmts {
				if err := conn.Exec(ctx, st); err != nil {
					return fmt.Errorf("clickhouse migrate: %d (%s) statement %d: %w", m.version, m.name, i+1, err)
				}
			}
		}
		b, err := conn.PrepareBatch(ctx, `INSERT INTO schema_migrations (version, name, applied_at)`)
		if err != nil {
			return fmt.Errorf("clickhouse migrate: record %d: %w", m.version, err)
		}
		if err := b.Append(m.version, m.name, time.Now().UTC()); err != nil {
			return fmt.Errorf("clickhouse migrate: record %d: %w", m.version, err)
		}
		if err := b.Send(); err != nil {
			return fmt.Errorf("clickhouse migrate: record %d: %w", m.version, err)
		}
	}
	return nil
}
