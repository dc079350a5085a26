package analytics_test

import (
	"context"
	"testing"
	"time"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/analytics/chtest"
)

func TestMigrateIsRepeatable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := analytics.Open(ctx, chtest.NewDatabase(t)) // NewDatabase migrated once
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := analytics.Migrate(ctx, conn); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	var n uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("schema_migrations has %d rows, want 1", n)
	}
}
