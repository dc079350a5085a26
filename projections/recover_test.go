package projections_test

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// recoverProbe is the read model as a Recoverer that counts its recoveries
// and can hold one until the test lets it finish.
type recoverProbe struct {
	projections.Projection
	entered   chan struct{} // closed when Recover is first called
	enterOnce sync.Once
	proceed   chan struct{} // Recover returns once it is closed
	recovers  atomic.Int32
	early     atomic.Bool // Apply ran before any Recover
}

func newRecoverProbe(e *env, held bool) *recoverProbe {
	p := &recoverProbe{Projection: readmodel.New(e.pool), entered: make(chan struct{}), proceed: make(chan struct{})}
	if !held {
		close(p.proceed)
	}
	return p
}

func (p *recoverProbe) Recover(ctx context.Context) (eventstore.Position, error) {
	p.recovers.Add(1)
	p.enterOnce.Do(func() { close(p.entered) })
	select {
	case <-p.proceed:
	case <-ctx.Done():
		return eventstore.Start, ctx.Err()
	}
	return p.Checkpoint(ctx)
}

func (p *recoverProbe) Apply(ctx context.Context, batch []eventstore.RecordedEvent) error {
	if p.recovers.Load() == 0 {
		p.early.Store(true)
	}
	return p.Projection.Apply(ctx, batch)
}

func (e *env) probeRunner(p *recoverProbe) *projections.Runner {
	return projections.NewRunner(e.store, e.pool, e.log).
		WithOptions(projections.Options{LockPoll: 50 * time.Millisecond, Retry: 50 * time.Millisecond}).
		Add(p)
}

// Recovery writes, so only the instance that takes a projection's lock runs
// it, once per taking and before it applies; status reads and
// read-your-writes of every other instance (a standby, a serve
// --projections=false) only read the checkpoint, even polled at once. While
// the lock holder is still recovering, its status shows the stored
// checkpoint, not position zero.
func TestOnlyTheLockHolderRecoversAndStatusReadsOnlyRead(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.seed(t, 20, seed.HistoryOptions{})
	all, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.NoError(t, readmodel.New(e.pool).Apply(ctx, all))
	stored := all[len(all)-1].Position

	holder, standby, serving := newRecoverProbe(e, true), newRecoverProbe(e, false), newRecoverProbe(e, false)
	a, b, c := e.probeRunner(holder), e.probeRunner(standby), e.probeRunner(serving)
	stopA := e.start(t, a)
	select {
	case <-holder.entered:
	case <-ctx.Done():
		t.Fatal("the lock holder never recovered")
	}
	e.start(t, b)

	// The holder is recovering; the standby waits for the lock; c is not run.
	requireStatus(t, a, true, stored)
	const clients = 3
	errs := make(chan error, clients*3*5)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				for _, r := range []*projections.Runner{b, c} {
					_, st, err := r.Ready(ctx)
					if err == nil && (st[0].Active || st[0].Checkpoint != stored.String()) {
						err = fmt.Errorf("status %+v, want inactive at %s", st[0], stored)
					}
					errs <- err
				}
				errs <- c.WriteMetrics(ctx, io.Discard)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, c.WaitFor(ctx, stored), "read-your-writes of what is stored")

	close(holder.proceed)
	stream, events := seed.Lifecycle(seed.HistoryKey, 1000, true)
	e.appendEvents(t, stream, events...)
	e.waitCaughtUp(t, a)
	e.waitCaughtUp(t, c)
	require.Equal(t, int32(1), holder.recovers.Load())
	require.Equal(t, int32(0), standby.recovers.Load())
	require.Equal(t, int32(0), serving.recovers.Load())

	// The standby recovers when it takes over, and only then.
	stopA()
	requireActive(t, b, true)
	stream, events = seed.Lifecycle(seed.HistoryKey, 1001, true)
	e.appendEvents(t, stream, events...)
	e.waitCaughtUp(t, b)
	require.Equal(t, int32(1), standby.recovers.Load())
	require.Equal(t, int32(1), holder.recovers.Load())
	require.Equal(t, int32(0), serving.recovers.Load())
	for _, p := range []*recoverProbe{holder, standby, serving} {
		require.False(t, p.early.Load(), "applied before recovering")
	}
}

// requireStatus checks r's one projection status.
func requireStatus(t *testing.T, r *projections.Runner, active bool, at eventstore.Position) {
	t.Helper()
	st, err := r.Statuses(context.Background())
	require.NoError(t, err)
	require.Len(t, st, 1)
	require.Equal(t, active, st[0].Active, "active")
	require.Equal(t, at.String(), st[0].Checkpoint, "checkpoint")
}

// Stopping a runner releases its lock on the lock connection while nothing
// else uses that connection (a pgx.Conn is not safe for concurrent use):
// the liveness check of the lock must have finished first.
func TestStoppingReleasesTheLockAfterItsCheckEnds(t *testing.T) {
	e := newEnv(t)
	for range 20 {
		r := projections.NewRunner(e.store, e.pool, e.log).
			WithOptions(projections.Options{LockPoll: 5 * time.Millisecond, LockCheck: 10 * time.Millisecond}).
			Add(readmodel.New(e.pool))
		stop := e.start(t, r)
		requireActive(t, r, true)
		stop()
	}
}
