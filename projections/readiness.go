package projections

import (
	"context"
	"fmt"
	"time"
)

// Report is one projection's status for readiness, or why it could not be
// read. Unlike Statuses, one projection whose storage is down (the
// ClickHouse projection during a ClickHouse outage) does not hide the
// others.
type Report struct {
	Status
	// Ready: the status was read and the lag is within ReadyLag.
	Ready bool `json:"ready"`
	// Error says why the status could not be read.
	Error string `json:"error,omitempty"`
}

// statusTimeout bounds each status read of Reports, so a storage that hangs
// rather than refuses (ClickHouse behind a dead link) delays /readyz and
// /metrics by that much and costs only its own projection's report.
const statusTimeout = 2 * time.Second

// Reports gives every projection's report; the error is for the event
// store's head, without which no lag can be known.
func (r *Runner) Reports(ctx context.Context) ([]Report, error) {
	hctx, cancel := context.WithTimeout(ctx, statusTimeout)
	head, ok, err := r.store.Head(hctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("projection status: head: %w", err)
	}
	var out []Report
	for _, e := range r.all() {
		sctx, cancel := context.WithTimeout(ctx, statusTimeout)
		s, err := r.status(sctx, e, head, ok)
		cancel()
		if err != nil {
			out = append(out, Report{Status: Status{Name: e.p.Name()}, Error: err.Error()})
			continue
		}
		out = append(out, Report{Status: s, Ready: s.LagSeconds <= r.opts.ReadyLag.Seconds()})
	}
	return out, nil
}
