package projections_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// Two instances (each its own pool and runner on one database, a third
// running the projection live) are asked to rebuild the same projection at
// once: the rebuild lock makes one wait until the other has swapped, so
// their loads never overlap (they would share, and wreck, one shadow
// schema), and the read model ends exactly as the live one was.
func TestRebuildsAskedOfTwoInstancesRunOneAtATime(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.seed(t, 300, seed.HistoryOptions{})
	live := e.runner()
	e.start(t, live)
	e.waitCaughtUp(t, live)
	want := dump(t, e.pool)

	type span struct{ first, last time.Time }
	spans := make([]span, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		other := openEnv(t, e.url) // another instance: own pool, own runner
		r := projections.NewRunner(other.store, other.pool, other.log).
			WithOptions(projections.Options{PageSize: 100, LockPoll: 20 * time.Millisecond}).
			Add(readmodel.All(other.pool)...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.RebuildWith(ctx, readmodel.Name, projections.RebuildOptions{Progress: func(projections.RebuildProgress) {
				now := time.Now()
				if spans[i].first.IsZero() {
					spans[i].first = now
				}
				spans[i].last = now
			}})
		}()
	}
	wg.Wait()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	for i, s := range spans {
		require.False(t, s.first.IsZero(), "rebuild %d loaded pages", i)
		require.True(t, s.first.Before(s.last), "rebuild %d loaded several pages", i)
	}
	a, b := spans[0], spans[1]
	if b.first.Before(a.first) {
		a, b = b, a
	}
	require.True(t, a.last.Before(b.first), "the second rebuild loads only after the first has finished: first %v-%v, second %v-%v",
		a.first.Format(time.StampMicro), a.last.Format(time.StampMicro), b.first.Format(time.StampMicro), b.last.Format(time.StampMicro))
	e.waitCaughtUp(t, live)
	require.Equal(t, want, dump(t, e.pool))
}
