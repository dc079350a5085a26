package projections

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	log := r.log.WithField("projection", name)
	shadow, err := rb.Shadow(ctx)
	if err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, err)
	}
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
	st := RebuildStats{Events: events, Duration: time.Since(start), ReadWait: times.readWait, Apply: times.apply}
	log.WithField("events", st.Events).WithField("seconds", st.Duration.Seconds()).
		WithField("events_per_s", int(st.EventsPerSecond())).WithField("read_wait_s", st.ReadWait.Seconds()).
		WithField("apply_s", st.Apply.Seconds()).Info("rebuild: swapped in")
	r.changed.fire()
	return st, nil
}
