package projections

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

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
// not Rebuildable); it rebuilds itself from its own storage instead.
var ErrNotRebuildable = errors.New("projection cannot be rebuilt by shadow and swap")

// rebuildLogEvery is the interval of progress log lines.
const rebuildLogEvery = 5 * time.Second

// Rebuild rebuilds the named projection from position zero into fresh
// storage and swaps it in; the live projection keeps serving (and, if this
// or another process runs it, keeps applying) until the swap. Progress goes
// to the log every few seconds and, when stderr is a terminal, to a
// progress bar there.
func (r *Runner) Rebuild(ctx context.Context, name string) (RebuildStats, error) {
	e, err := r.entry(name)
	if err != nil {
		return RebuildStats{}, err
	}
	rb, ok := e.p.(Rebuildable)
	if !ok {
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, ErrNotRebuildable)
	}
	log := r.log.WithField("projection", name)
	shadow, err := rb.Shadow(ctx)
	if err != nil {
		return RebuildStats{}, fmt.Errorf("rebuild %s: %w", name, err)
	}
	var bar *progressbar.ProgressBar
	if isTerminal(os.Stderr) {
		bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetDescription("rebuild "+name),
			progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("events"),
			progressbar.OptionThrottle(200*time.Millisecond),
		)
		defer bar.Finish()
	}
	start := time.Now()
	var events uint64
	lastLog, lastEvents := start, uint64(0)
	log.Info("rebuild: started")
	_, times, err := r.catchUp(ctx, shadow, r.optionsOf(e).PageSize, eventstore.Start, func(batch []eventstore.RecordedEvent) {
		events += uint64(len(batch))
		if bar != nil {
			_ = bar.Add(len(batch))
		}
		if now := time.Now(); now.Sub(lastLog) >= rebuildLogEvery {
			rate := float64(events-lastEvents) / now.Sub(lastLog).Seconds()
			log.WithField("events", events).WithField("events_per_s", int(rate)).
				WithField("position", batch[len(batch)-1].Position.String()).Info("rebuild: progress")
			lastLog, lastEvents = now, events
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

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
