package projections

import (
	"context"
	"fmt"
	"io"
	"time"

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
	LastError  string  `json:"last_error,omitempty"`
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
	s := Status{Name: e.p.Name(), Active: e.active, Checkpoint: cp.String(), Applied: e.applied}
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

// WriteMetrics writes the projection gauges in the Prometheus text format.
// A projection whose status cannot be read (its storage is down) shows as
// cardledger_projection_status_ok 0 without lag gauges; the others are
// reported as usual.
func (r *Runner) WriteMetrics(ctx context.Context, w io.Writer) error {
	reports, err := r.Reports(ctx)
	if err != nil {
		return err
	}
	var st []Status
	for _, rep := range reports {
		if rep.Error == "" {
			st = append(st, rep.Status)
		}
	}
	if _, err := fmt.Fprintf(w, "# HELP %[1]s 1 if the projection's status could be read (0: its storage is unavailable).\n# TYPE %[1]s gauge\n",
		"cardledger_projection_status_ok"); err != nil {
		return err
	}
	for _, rep := range reports {
		if _, err := fmt.Fprintf(w, "cardledger_projection_status_ok{projection=%q} %g\n", rep.Name, b2f(rep.Error == "")); err != nil {
			return err
		}
	}
	metrics := []struct {
		name, kind, help string
		value            func(Status) float64
	}{
		{"cardledger_projection_lag_events", "gauge", "Events in the store not yet applied by the projection.",
			func(s Status) float64 { return float64(s.LagEvents) }},
		{"cardledger_projection_lag_seconds", "gauge", "Age of the oldest event not yet applied by the projection.",
			func(s Status) float64 { return s.LagSeconds }},
		{"cardledger_projection_active", "gauge", "1 if this process runs the projection (holds its lock).",
			func(s Status) float64 { return b2f(s.Active) }},
		{"cardledger_projection_events_applied_total", "counter", "Events applied by this process.",
			func(s Status) float64 { return float64(s.Applied) }},
	}
	for _, m := range metrics {
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.kind); err != nil {
			return err
		}
		for _, s := range st {
			if _, err := fmt.Fprintf(w, "%s{projection=%q} %g\n", m.name, s.Name, m.value(s)); err != nil {
				return err
			}
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
