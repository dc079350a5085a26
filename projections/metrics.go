package projections

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/cardledger/cardledger/eventstore"
)

// Status is one projection's progress as seen from this process.
type Status struct {
	Name       string `json:"name"`
	Active     bool   `json:"active"` // this process holds the projection's lock
	Checkpoint string `json:"checkpoint"`
	Head       string `json:"head"`
	// LagEvents counts the events after the checkpoint: exact up to
	// lagCountLimit, estimated from positions above it.
	LagEvents uint64 `json:"lag_events"`
	// LagSeconds is how long the oldest event not yet applied has been
	// in the store; 0 when caught up.
	LagSeconds float64 `json:"lag_seconds"`
	Applied    uint64  `json:"applied"` // events applied by this process
	// Batches counts the Apply calls behind Applied (each one transaction
	// for the PostgreSQL projections): Applied/Batches is the batching
	// achieved. Only /metrics shows it.
	Batches   uint64 `json:"-"`
	LastError string `json:"last_error,omitempty"`
}

// lagCountLimit bounds the read that counts the events behind.
const lagCountLimit = 1000

// Statuses reports every projection's lag against the store head.
func (r *Runner) Statuses(ctx context.Context) ([]Status, error) {
	head, ok, err := r.store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("projection status: head: %w", err)
	}
	var out []Status
	for _, e := range r.all() {
		s, err := r.status(ctx, e, head, ok)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// status is e's progress against head (ok: the store has events).
func (r *Runner) status(ctx context.Context, e *entry, head eventstore.Head, ok bool) (Status, error) {
	cp, err := e.checkpoint(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("projection status %s: %w", e.p.Name(), err)
	}
	e.mu.Lock()
	s := Status{Name: e.p.Name(), Active: e.active, Checkpoint: cp.String(), Applied: e.applied, Batches: e.batches}
	if e.lastErr != nil {
		s.LastError = e.lastErr.Error()
	}
	e.mu.Unlock()
	if ok {
		s.Head = head.Position.String()
	}
	if ok && cp.Less(head.Position) {
		behind, err := r.store.ReadAll(ctx, cp, lagCountLimit)
		if err != nil {
			return Status{}, fmt.Errorf("projection status %s: %w", e.p.Name(), err)
		}
		s.LagEvents = uint64(len(behind))
		if len(behind) == lagCountLimit {
			s.LagEvents = estimateBehind(cp, head.Position, lagCountLimit)
		}
		if len(behind) > 0 {
			s.LagSeconds = max(0, time.Since(behind[0].RecordedAt).Seconds())
		}
	}
	return s, nil
}

// estimateBehind guesses the distance between positions from their Prepare
// parts, which count events in the PostgreSQL store (a sequence) and bytes
// in EventStoreDB (an overestimate, which is the safe side for alerts).
func estimateBehind(cp, head eventstore.Position, atLeast uint64) uint64 {
	if head.Prepare > cp.Prepare && head.Prepare-cp.Prepare > atLeast {
		return head.Prepare - cp.Prepare
	}
	return atLeast
}

// Ready reports whether every projection is within ReadyLag of the head.
func (r *Runner) Ready(ctx context.Context) (bool, []Status, error) {
	st, err := r.Statuses(ctx)
	if err != nil {
		return false, nil, err
	}
	for _, s := range st {
		if s.LagSeconds > r.opts.ReadyLag.Seconds() {
			return false, st, nil
		}
	}
	return true, st, nil
}

// WriteMetrics writes the projection series (see Collector) in the
// Prometheus text format, reading the statuses under ctx.
func (r *Runner) WriteMetrics(ctx context.Context, w io.Writer) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(&collector{rs: []*Runner{r}, ctx: ctx}); err != nil {
		return err
	}
	families, err := reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return err
		}
	}
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
