package platform

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/testpg"
)

// The sweep deletes each counter row an hour after its window ended, and
// no row of a window still counting: minutes, registration hours and
// Beijing days alike.
func TestPruneCountersDeletesEndedWindowsOnly(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, testpg.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, Migrate(ctx, pool))

	now := time.Date(2026, 12, 5, 12, 0, 30, 0, time.UTC) // 20:00:30 in Beijing
	for _, at := range []time.Time{now, now.Add(-time.Minute), now.Add(-61 * time.Minute), now.Add(-62 * time.Minute),
		now.Add(-2 * time.Hour), now.Add(-3 * time.Hour), now.Add(-24 * time.Hour), now.Add(-30 * time.Hour)} {
		full, err := spend(ctx, pool, "app-x", windowOf("minute", at, 10), windowOf("day", at, 1000))
		require.NoError(t, err)
		require.Nil(t, full)
		full, err = spend(ctx, pool, "register:10.0.0.1", windowOf("hour", at, 10))
		require.NoError(t, err)
		require.Nil(t, full)
	}
	rows := func() []string {
		r, err := pool.Query(ctx, `SELECT period || ' ' || to_char(window_start AT TIME ZONE 'UTC', 'DD HH24:MI')
			FROM platform_counters ORDER BY period, window_start`)
		require.NoError(t, err)
		var out []string
		for r.Next() {
			var s string
			require.NoError(t, r.Scan(&s))
			out = append(out, s)
		}
		require.NoError(t, r.Err())
		return out
	}
	require.Len(t, rows(), 8+6+2, "8 minutes, 6 hours, 2 Beijing days")

	// Ended before 11:00:30 (an hour before now) goes: six minutes, four
	// hours and the Beijing day of the 4th (it ended at 16:00 UTC on the 4th).
	n, err := PruneCounters(ctx, pool, now, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(11), n)
	assert.Equal(t, []string{"day 04 16:00", "hour 05 11:00", "hour 05 12:00", "minute 05 11:59", "minute 05 12:00"}, rows())
	n, err = PruneCounters(ctx, pool, now, 2)
	require.NoError(t, err)
	assert.Zero(t, n, "again: nothing")
}
