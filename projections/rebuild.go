package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/eventstore"
)

// RebuildStats describes a finished rebuild.
type RebuildStats struct {
	Events   uint64
	Duration time.Duration
	// ReadWait and Apply split the load phase: waiting for the store's
	// pages, and writing them. Swap (index builds, switch) is the rest.
	ReadWait, Apply time.Duration
}

// EventsPerSecond is the rebuild rate.
func (s RebuildStats) EventsPerSecond() float64 {
	if s.Duration <= 0 {
		return 0
	}
	return float64(s.Events) / s.Duration.Seconds()
}

// ErrNotRebuildable: the projection has no shadow-and-swap rebuild (it is
// neither Rebuildable nor a SchemaProjection).
var ErrNotRebuildable = errors.New("projection cannot be rebuilt by shadow and swap")

// RebuildProgress is reported while a rebuild loads the log.
type RebuildProgress struct {
	Events   uint64              // loaded so far
	Position eventstore.Position // of the last event loaded
	Elapsed  time.Duration
}

// RebuildOptions tune one rebuild.
type RebuildOptions struct {
	// Progress, if set, is called after every page loaded into the fresh
	// storage, on the rebuilding goroutine; it should return quickly and
	// throttle its own output. The library draws nothing itself: the
	// command line decides between a bar and log lines.
	Progress func(RebuildProgress)
}

// Rebuild rebuilds the named projection from position zero into fresh
// storage and swaps it in; the live projection keeps serving (and, if this
// or another process runs it, keeps applying) until the swap. The log gets
// a line when it starts and when it is swapped in.
func (r *Runner) Rebuild(ctx context.Context, name string) (RebuildStats, error) {
	return r.RebuildWith(ctx, name, RebuildOptions{})
}

// RebuildWith is Rebuild, reporting progress as opts say.
func (r *Runner) RebuildWith(ctx context.Context, name string, opts RebuildOptions) (RebuildStats, error) {
	e, err := r.entry(name)
	if err != nil {
		return RebuildStats{}, err
	}
	rb, ok := rebuildable(e.p)
	if !ok {
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, ErrNotRebuildable)
	}
	if _, ok := rb.(ExclusiveRebuild); ok {
		locked, release, err := r.holdLock(ctx, e)
		if err != nil {
			return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, err)
		}
		defer release()
		ctx = locked
	}
	// One rebuild of a projection at a time (they share the shadow); a
	// shadow nobody holds this lock for is a crashed rebuild's leftover
	// (DropLeftoverShadows).
	rlock, err := acquireLock(ctx, r.pool, name+rebuildSuffix, r.optionsOf(e).LockPoll)
	if err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild %s: take rebuild lock: %w", name, err)
	}
	defer rlock.release()
	log := r.log.WithField("projection", name)
	shadow, err := rb.Shadow(ctx)
	if err != nil {
		dropShadow(ctx, rb, log)
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, err)
	}
	swapped := false
	defer func() {
		if !swapped {
			dropShadow(ctx, rb, log)
		}
	}()
	start := time.Now()
	var events uint64
	log.Info("rebuild: started")
	_, times, err := r.catchUp(ctx, shadow, r.optionsOf(e).PageSize, eventstore.Start, func(batch []eventstore.RecordedEvent) {
		events += uint64(len(batch))
		if opts.Progress != nil {
			opts.Progress(RebuildProgress{Events: events, Position: batch[len(batch)-1].Position, Elapsed: time.Since(start)})
		}
	})
	if err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, err)
	}
	if err := rb.Swap(ctx, shadow, r.store.ReadAll); err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, err)
	}
	swapped = true
	st := RebuildStats{Events: events, Duration: time.Since(start), ReadWait: times.readWait, Apply: times.apply}
	log.WithField("events", st.Events).WithField("seconds", st.Duration.Seconds()).
		WithField("events_per_s", int(st.EventsPerSecond())).WithField("read_wait_s", st.ReadWait.Seconds()).
		WithField("apply_s", st.Apply.Seconds()).Info("rebuild: swapped in")
	r.changed.fire()
	return st, nil
}

// ShadowDropper is a Rebuildable whose shadow storage can be dropped: a
// rebuild that fails or is cancelled drops it at once, and
// DropLeftoverShadows drops a crashed rebuild's. Shadows hold personal data
// like the live storage, so none outlives its rebuild.
type ShadowDropper interface {
	// DropShadow drops the shadow storage if there is any.
	DropShadow(ctx context.Context) error
}

// dropShadow drops rb's shadow after a failed rebuild, also when ctx was
// cancelled (that is one way to fail).
func dropShadow(ctx context.Context, rb Rebuildable, log *logrus.Entry) {
	d, ok := rb.(ShadowDropper)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := d.DropShadow(ctx); err != nil {
		log.WithError(err).Error("rebuild: could not drop the shadow of a failed rebuild; the next rebuild or migrate drops it")
		return
	}
	log.Info("rebuild: failed; shadow dropped")
}

// DropLeftoverShadows drops the shadows of rebuilds that died without
// cleaning up (a crashed process), for every registered projection whose
// rebuild lock is free: a running rebuild holds it, so its shadow stays.
// migrate calls it.
func (r *Runner) DropLeftoverShadows(ctx context.Context) error {
	for _, e := range r.entries {
		rb, ok := rebuildable(e.p)
		if !ok {
			continue
		}
		d, ok := rb.(ShadowDropper)
		if !ok {
			continue
		}
		lock, err := tryLock(ctx, r.pool, e.p.Name()+rebuildSuffix)
		if err != nil {
			return err
		}
		if lock == nil {
			continue // a rebuild is running
		}
		err = d.DropShadow(ctx)
		lock.release()
		if err != nil {
			return fmt.Errorf("drop leftover shadow of %s: %w", e.p.Name(), err)
		}
	}
	return nil
}
