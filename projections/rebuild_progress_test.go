package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// A rebuild reports its progress to the caller, page by page, instead of
// drawing on stderr: counts grow with every page and end at the total.
func TestRebuildReportsProgressToItsCaller(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	seeded := e.seed(t, 100, seed.HistoryOptions{})
	r := e.runner().WithOptions(projections.Options{PageSize: 100})

	var reports []projections.RebuildProgress
	st, err := r.RebuildWith(ctx, readmodel.Name, projections.RebuildOptions{
		Progress: func(p projections.RebuildProgress) { reports = append(reports, p) },
	})
	require.NoError(t, err)
	require.Equal(t, uint64(seeded.Events), st.Events)
	require.GreaterOrEqual(t, len(reports), (seeded.Events+99)/100, "a report per page of at most 100")
	var before projections.RebuildProgress
	for i, p := range reports {
		require.Greater(t, p.Events, before.Events, "report %d", i)
		require.LessOrEqual(t, p.Events-before.Events, uint64(100), "report %d", i)
		require.True(t, before.Position.Less(p.Position), "report %d", i)
		before = p
	}
	last := reports[len(reports)-1]
	require.Equal(t, st.Events, last.Events)
	require.Equal(t, seeded.Last, last.Position)
}
