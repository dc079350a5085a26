package projections_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/audit"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// Two writers of the same projection (two instances that both believe they
// hold the lock) apply overlapping batches, each with a stale idea of the
// checkpoint: each guarded batch must find the row moved, read it again and
// store only what is new. The tables then equal those of one writer that
// applied the same events once.
func TestTwoGuardedWritersStoreEachEventOnce(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	require.NoError(t, audit.Migrate(ctx, e.pool))
	e.seed(t, 40, seed.HistoryOptions{})
	events, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	n := len(events)
	require.Greater(t, n, 200)
	require.LessOrEqual(t, n, projections.PipelineMax)
	k1, k2, k3 := n/5, n/2, 3*n/4

	writers := func(pool *pgxpool.Pool) []projections.Projection {
		return []projections.Projection{readmodel.New(pool), audit.NewProjection(pool)}
	}
	a, b := writers(e.pool), writers(e.pool)
	for i := range a {
		require.NoError(t, a[i].Apply(ctx, events[:k1]))
		require.NoError(t, b[i].Apply(ctx, events[:k2]))   // reads the checkpoint (k1), stores k1..k2
		require.NoError(t, a[i].Apply(ctx, events[k1:k3])) // believes k1: moved, reads k2, stores k2..k3
		require.NoError(t, b[i].Apply(ctx, events[k2:]))   // believes k2: moved, reads k3, stores the rest
		require.NoError(t, a[i].Apply(ctx, events[k3:]))   // believes k3: moved, reads the end, stores nothing
	}

	refURL := testpg.NewDatabase(t)
	ref := testpg.NewPool(t, refURL)
	require.NoError(t, readmodel.Migrate(ctx, ref))
	require.NoError(t, audit.Migrate(ctx, ref))
	for _, p := range writers(ref) {
		require.NoError(t, p.Apply(ctx, events))
	}
	for _, q := range []string{
		"SELECT stream, revision, state::text FROM readmodel.cardholders ORDER BY stream",
		"SELECT card_no, status, stream FROM readmodel.cards ORDER BY card_no",
		"SELECT card_no, reason, seq FROM readmodel.blacklist ORDER BY card_no",
		"SELECT seq, card_no, op, pos_commit, pos_prepare FROM readmodel.blacklist_changes ORDER BY seq",
		"SELECT pos_commit, pos_prepare, step, card_no FROM readmodel.steps ORDER BY 1, 2",
		"SELECT pos_commit, pos_prepare, last_seq FROM readmodel.checkpoint",
		"SELECT pos_commit, pos_prepare, event_id FROM audit.actions ORDER BY 1, 2",
		"SELECT stream, revision FROM audit.stream_heads ORDER BY stream",
		"SELECT pos_commit, pos_prepare FROM audit.checkpoint",
	} {
		got, want := rowsOf(t, e.pool, q), rowsOf(t, ref, q)
		require.NotEmpty(t, want, q)
		require.Equal(t, want, got, q)
	}
	var changes int
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT count(*) FROM readmodel.blacklist_changes").Scan(&changes))
	require.Positive(t, changes)
}

// rowsOf reads every row of q as text.
func rowsOf(t *testing.T, pool *pgxpool.Pool, q string) []string {
	t.Helper()
	rows, err := pool.Query(context.Background(), q)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals, err := rows.Values()
		require.NoError(t, err)
		out = append(out, fmt.Sprint(vals...))
	}
	require.NoError(t, rows.Err())
	return out
}

// A guarded batch of the read model notifies the other processes at commit
// (the runner's listener wakes read-your-writes waiters and feed polls).
func TestGuardedBatchNotifiesAtCommit(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.seed(t, 3, seed.HistoryOptions{})
	events, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	conn, err := e.pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, "LISTEN "+projections.NotifyChannel)
	require.NoError(t, err)
	require.NoError(t, readmodel.New(e.pool).Apply(ctx, events))
	n, err := conn.Conn().WaitForNotification(ctx)
	require.NoError(t, err)
	require.Equal(t, readmodel.Name, n.Payload)
}
