package projections

import (
	"context"
	"errors"
	"fmt"
)

// ExclusiveRebuild is a Rebuildable projection whose Swap cannot stop live
// writes by itself: its storage has no transactions to lock with
// (ClickHouse). The runner holds the projection's single-active lock from
// Shadow to the end of Swap instead, so no instance applies to the live
// storage meanwhile (and no second rebuild reuses the same shadow). The
// projection stays readable throughout; it only stops following the log.
type ExclusiveRebuild interface {
	Rebuildable
	// RebuildsUnderLock only marks the interface.
	RebuildsUnderLock()
}

// errActiveHere: the lock is held by this very process's runner, so taking
// it again would wait forever.
var errActiveHere = errors.New("this process runs the projection; rebuild it from another process or stop the runner first")

// holdLock takes e's lock for a rebuild, waiting while another instance
// holds it. The returned context ends if the lock connection is lost;
// release ends the watch and unlocks.
func (r *Runner) holdLock(ctx context.Context, e *entry) (context.Context, func(), error) {
	e.mu.Lock()
	active := e.active
	e.mu.Unlock()
	if active {
		return nil, nil, errActiveHere
	}
	r.log.WithField("projection", e.p.Name()).Info("rebuild: taking the projection's lock (waits while another instance runs it)")
	lock, err := acquireLock(ctx, r.pool, e.p.Name(), r.optionsOf(e).LockPoll)
	if err != nil {
		return nil, nil, fmt.Errorf("take lock: %w", err)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if err := lock.watch(ctx, r.optionsOf(e).LockCheck); err != nil && ctx.Err() == nil {
			cancel(err)
		}
	}()
	return ctx, func() {
		cancel(nil)
		<-watched // the lock's connection is for one goroutine at a time
		lock.release()
	}, nil
}
