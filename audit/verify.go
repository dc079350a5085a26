package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
)

// Progress is reported while verifying.
type Progress struct {
	Events  uint64
	Streams int
	Broken  int
	Elapsed time.Duration
}

// VerifyOptions choose what Verify checks.
type VerifyOptions struct {
	// Stream limits the check to one stream; "" checks the whole log.
	Stream string
	// PageSize is the read page (default 5000).
	PageSize int
	// MaxBreaks stops after this many broken streams (default 100).
	MaxBreaks int
	// Progress, if set, is called about every ProgressEvery events and at
	// the end.
	Progress      func(Progress)
	ProgressEvery uint64 // default 50000
}

// Report is the outcome of Verify.
type Report struct {
	Events  uint64
	Streams int
	// Breaks holds the first broken link of each broken stream, in the
	// order they were found; empty when every chain holds.
	Breaks []*chain.BreakError
}

// OK reports whether every chain held.
func (r Report) OK() bool { return len(r.Breaks) == 0 }

// Verify recomputes the chains of the stores's streams.
func Verify(ctx context.Context, store eventstore.Store, opts VerifyOptions) (Report, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 5000
	}
	if opts.MaxBreaks <= 0 {
		opts.MaxBreaks = 100
	}
	if opts.ProgressEvery == 0 {
		opts.ProgressEvery = 50000
	}
	v := &verifier{opts: opts, walkers: map[string]*chain.Walker{}, broken: map[string]bool{}, start: time.Now()}
	var err error
	if opts.Stream != "" {
		err = v.stream(ctx, store, opts.Stream)
	} else {
		err = v.all(ctx, store)
	}
	v.progress(true)
	if errors.Is(err, errEnough) {
		err = nil
	}
	return v.report, err
}

// errEnough ends a run that found MaxBreaks broken streams.
var errEnough = errors.New("enough breaks")

type verifier struct {
	opts    VerifyOptions
	walkers map[string]*chain.Walker
	broken  map[string]bool
	report  Report
	start   time.Time
	last    uint64 // events at the last progress report
}

func (v *verifier) stream(ctx context.Context, store eventstore.Store, stream string) error {
	for from := uint64(0); ; {
		page, err := store.ReadStream(ctx, stream, from, v.opts.PageSize)
		if err != nil {
			return fmt.Errorf("verify %s: %w", stream, err)
		}
		if err := v.check(page); err != nil {
			return err
		}
		if len(page) < v.opts.PageSize {
			return nil
		}
		from = page[len(page)-1].Revision + 1
	}
}

func (v *verifier) all(ctx context.Context, store eventstore.Store) error {
	for after := eventstore.Start; ; {
		page, err := store.ReadAll(ctx, after, v.opts.PageSize)
		if err != nil {
			return fmt.Errorf("verify $all after %s: %w", after, err)
		}
		if len(page) == 0 {
			return nil
		}
		if err := v.check(page); err != nil {
			return err
		}
		after = page[len(page)-1].Position
	}
}

// check feeds events to their streams' walkers. Within a stream, $all
// order is revision order, so one pass suffices.
func (v *verifier) check(events []eventstore.RecordedEvent) error {
	for _, e := range events {
		w, ok := v.walkers[e.Stream]
		if !ok {
			w = &chain.Walker{}
			v.walkers[e.Stream] = w
			v.report.Streams++
		}
		v.report.Events++
		if err := w.Next(e); err != nil && !v.broken[e.Stream] {
			var be *chain.BreakError
			if !errors.As(err, &be) {
				return err
			}
			v.broken[e.Stream] = true
			v.report.Breaks = append(v.report.Breaks, be)
			if len(v.report.Breaks) >= v.opts.MaxBreaks {
				return errEnough
			}
		}
		v.progress(false)
	}
	return nil
}

func (v *verifier) progress(final bool) {
	if v.opts.Progress == nil || (!final && v.report.Events-v.last < v.opts.ProgressEvery) {
		return
	}
	v.last = v.report.Events
	v.opts.Progress(Progress{Events: v.report.Events, Streams: v.report.Streams,
		Broken: len(v.report.Breaks), Elapsed: time.Since(v.start)})
}
