package projections_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/projections"
)

// TestApplyTxCommitsWithoutWaitingForTheFlushOfThatTransactionOnly: a
// projection's transaction runs with synchronous_commit off, and the
// pooled connection it leaves behind is back to the server's setting
// (the event store's appends share the pool and must stay durable).
func TestApplyTxCommitsWithoutWaitingForTheFlushOfThatTransactionOnly(t *testing.T) {
	ctx := context.Background()
	pool := testpg.NewPool(t, testpg.NewDatabase(t))
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	// The session's setting stands for the server's (the test cluster's
	// may be off already).
	_, err = conn.Exec(ctx, "SET synchronous_commit = on")
	require.NoError(t, err)
	setting := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) string {
		var s string
		require.NoError(t, q.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&s))
		return s
	}
	require.NoError(t, pgx.BeginTxFunc(ctx, conn, projections.ApplyTx, func(tx pgx.Tx) error {
		require.Equal(t, "off", setting(tx))
		return nil
	}))
	require.Equal(t, "on", setting(conn))
}
