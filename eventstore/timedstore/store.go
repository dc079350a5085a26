// Package timedstore wraps an event store to time its appends:
// cardledger_append_duration_seconds{op="append"|"append_many",result="ok"|"error"}
// (an AppendWithRow is timed as an append: it is one, with a row).
// Reads and subscriptions pass through untimed: the projections' own
// series say how far behind they are, which is what matters for reads.
package timedstore

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardledger/cardledger/eventstore"
)

// Store times the appends of the store it wraps.
type Store struct {
	eventstore.Store
	appends *prometheus.HistogramVec
}

var (
	_ eventstore.Store          = (*Store)(nil)
	_ eventstore.MultiAppender  = (*Store)(nil)
	_ eventstore.RowAppender    = (*Store)(nil)
	_ eventstore.UniqueEventIDs = (*Store)(nil)
	_ eventstore.RetryReporter  = (*Store)(nil)
)

// New wraps inner and registers the append histogram in reg. Closing the
// Store closes inner.
func New(inner eventstore.Store, reg prometheus.Registerer) (*Store, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "cardledger_append_duration_seconds",
		Help:    "Time to append to the event store, by op (append, append_many) and result (ok, error).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"op", "result"})
	if err := reg.Register(h); err != nil {
		return nil, err
	}
	return &Store{Store: inner, appends: h}, nil
}

// Inner is the wrapped store.
func (s *Store) Inner() eventstore.Store { return s.Store }

// Append appends through the inner store and times it.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	start := time.Now()
	r, err := s.Store.Append(ctx, stream, expected, events)
	s.observe("append", start, err)
	return r, err
}

// AppendMany appends through the inner store's AppendMany and times it; an
// inner store without one gives eventstore.ErrAppendManyUnsupported, untimed.
func (s *Store) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	inner, ok := s.Store.(eventstore.MultiAppender)
	if !ok {
		return nil, eventstore.ErrAppendManyUnsupported
	}
	start := time.Now()
	r, err := inner.AppendMany(ctx, appends)
	s.observe("append_many", start, err)
	return r, err
}

// AppendWithRow appends through the inner store's AppendWithRow and times
// it as an append; an inner store without one gives
// eventstore.ErrRowAppendUnsupported, untimed.
func (s *Store) AppendWithRow(ctx context.Context, stream string, expected eventstore.ExpectedRevision,
	events []eventstore.EventData, row eventstore.Row) (eventstore.AppendResult, bool, error) {
	inner, ok := s.Store.(eventstore.RowAppender)
	if !ok {
		return eventstore.AppendResult{}, false, eventstore.ErrRowAppendUnsupported
	}
	start := time.Now()
	r, written, err := inner.AppendWithRow(ctx, stream, expected, events, row)
	s.observe("append", start, err)
	return r, written, err
}

// UniqueEventIDs is the inner store's answer.
func (s *Store) UniqueEventIDs() bool {
	u, ok := s.Store.(eventstore.UniqueEventIDs)
	return ok && u.UniqueEventIDs()
}

// ReportsRetry is the inner store's answer; results pass as they are.
func (s *Store) ReportsRetry(expected eventstore.ExpectedRevision) bool {
	return eventstore.ReportsRetry(s.Store, expected)
}

func (s *Store) observe(op string, start time.Time, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.appends.WithLabelValues(op, result).Observe(time.Since(start).Seconds())
}
