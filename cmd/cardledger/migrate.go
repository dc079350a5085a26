package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/audit"
	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/payments"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
	"github.com/cardledger/cardledger/reconcile"
)

// runMigrate creates or updates every table: the event store (when it is
// PostgreSQL), API clients, idempotency keys, read models and ClickHouse.
func runMigrate(ctx context.Context, env *environment, args []string) error {
	d, err := parseConfig(env, flag.NewFlagSet("migrate", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	defer d.close()
	if err := migratePostgres(ctx, d); err != nil {
		return err
	}
	if d.cfg.ClickHouseURL == "" {
		d.log.Info("CARDLEDGER_CLICKHOUSE_URL not set: analytics tables skipped")
		return nil
	}
	conn, err := analytics.Open(ctx, d.cfg.ClickHouseURL)
	if err != nil {
		return err
	}
	defer conn.Close()
	cluster := analytics.OnCluster(d.cfg.ClickHouseCluster, d.cfg.ClickHouseURL)
	if err := analytics.Migrate(ctx, conn, cluster); err != nil {
		return fmt.Errorf("migrate clickhouse: %w", err)
	}
	store, pool := d.store, d.pool // opened by migratePostgres
	chRunner := projections.NewRunner(store, pool, d.log).AddWithOptions(analytics.RunnerOptions(), analytics.NewProjection(conn, cluster))
	if err := chRunner.DropLeftoverShadows(ctx); err != nil {
		return fmt.Errorf("migrate clickhouse: %w", err)
	}
	d.log.WithField("step", "clickhouse").Info("migrated")
	return nil
}

// migratePostgres creates or updates every PostgreSQL table of d: the
// event store (when it is PostgreSQL), clients, idempotency keys, read
// models, e-card tables (the sandbox tenant runs it too).
func migratePostgres(ctx context.Context, d *deps) error {
	store, err := d.openStore(ctx) // the PostgreSQL store migrates on open
	if err != nil {
		return err
	}
	pool, err := d.openPool(ctx)
	if err != nil {
		return err
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"api clients", func(ctx context.Context) error { return auth.Migrate(ctx, pool) }},
		{"idempotency keys", func(ctx context.Context) error { return commands.Migrate(ctx, pool) }},
		{"read models", func(ctx context.Context) error { return readmodel.Migrate(ctx, pool) }},
		{"batch read model", func(ctx context.Context) error { return batch.NewReadModel(pool).Migrate(ctx) }},
		{"payments read model", func(ctx context.Context) error { return payments.NewReadModel(pool).Migrate(ctx) }},
		{"batch import jobs", func(ctx context.Context) error { return batch.MigrateImportJobs(ctx, pool) }},
		{"audit trail", func(ctx context.Context) error { return audit.Migrate(ctx, pool) }},
		{"deliveries", func(ctx context.Context) error { _, err := d.migrateDeliveries(ctx, pool); return err }},
		{"reconciliation", func(ctx context.Context) error { return reconcile.Migrate(ctx, pool) }},
		{"e-card codes", func(ctx context.Context) error {
			if err := ecard.Migrate(ctx, pool); err != nil {
				return err
			}
			keys, err := d.ecardKeyStore(time.Now)
			if err != nil {
				return err
			}
			return keys.Ensure(ctx) // a first signing key
		}},
		{"e-card login sessions", func(ctx context.Context) error { return ecard.MigrateLogin(ctx, pool) }},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("migrate %s: %w", s.name, err)
		}
		d.log.WithField("step", s.name).Info("migrated")
	}
	// A rebuild that crashed left its shadow (personal data in clear);
	// those of projections no rebuild runs for now go.
	runner := projections.NewRunner(store, pool, d.log).Add(postgresProjections(pool)...)
	if err := runner.DropLeftoverShadows(ctx); err != nil {
		return fmt.Errorf("migrate read models: %w", err)
	}
	return nil
}
