package main

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
)

// committedHead is the position of the newest committed event in the
// PostgreSQL event store of pool, read from the table itself. $all's Head
// trails commits while an older transaction of the cluster runs (see
// eventstore/pgstore/visibility.go), so a test that waits for Head can see
// the wait end before its own last event was applied; waiting for this
// position cannot.
func committedHead(t *testing.T, ctx context.Context, pool *pgxpool.Pool) eventstore.Position {
	t.Helper()
	var p eventstore.Position
	require.NoError(t, pool.QueryRow(ctx, `SELECT xid::text::bigint, seq FROM eventstore_events
		ORDER BY xid DESC, seq DESC LIMIT 1`).Scan(&p.Commit, &p.Prepare))
	return p
}
