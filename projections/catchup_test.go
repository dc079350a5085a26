package projections_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// CatchUpTo brings a projection nobody runs to a position itself, and
// several of them next to a runner store every event exactly once: the
// read model then equals the one the runner alone builds. A position the
// log never reaches ends in ErrNotCaughtUp when the context does.
func TestCatchUpToReachesThePositionNextToOtherWriters(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t)
	seeded := e.seed(t, 300, seed.HistoryOptions{})
	rm := readmodel.New(e.pool)

	mid := eventstore.Position{Commit: seeded.Last.Commit / 2}
	require.NoError(t, projections.CatchUpTo(ctx, e.store, rm, mid))
	cp, err := rm.Checkpoint(ctx)
	require.NoError(t, err)
	assert.False(t, cp.Less(mid), "at %s, wanted %s", cp, mid)
	assert.True(t, cp.Less(seeded.Last), "pages stop near the position, not at the head")

	e.start(t, e.runner())
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = projections.CatchUpTo(ctx, e.store, rm, seeded.Last)
		}()
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	e.waitCaughtUp(t, e.runner())
	var holders int
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT count(*) FROM readmodel.cardholders").Scan(&holders))
	assert.Equal(t, 300, holders)
	assert.Equal(t, expectedBlacklist(t, e.store), tableBlacklist(t, e.pool), "every change stored once")

	short, stop := context.WithTimeout(ctx, 100*time.Millisecond)
	defer stop()
	err = projections.CatchUpTo(short, e.store, rm, eventstore.Position{Commit: seeded.Last.Commit + 1_000_000})
	assert.ErrorIs(t, err, projections.ErrNotCaughtUp)
}
