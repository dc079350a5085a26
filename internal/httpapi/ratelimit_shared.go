package httpapi

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// RateStore holds token buckets that every server instance shares, so a
// client's limit is the same whether it talks to one instance or spreads
// its requests over many (see auth.RateBuckets, backed by PostgreSQL).
type RateStore interface {
	// Take takes a token from key's bucket, which holds at most burst
	// tokens and refills at rate per second; when none is left it returns
	// how long until one is.
	Take(ctx context.Context, key string, rate, burst float64) (wait time.Duration, ok bool, err error)
}

// rateStoreTimeout bounds one Take: a slow or saturated database must not
// stall every request, so past it the instance's own bucket answers.
const rateStoreTimeout = time.Second

// sharedRate is the shared side of a rateLimiter.
type sharedRate struct {
	store    RateStore
	log      logrus.FieldLogger
	lastWarn atomic.Int64 // unix nanoseconds of the last warning
}

// withStore makes l take its tokens from store (nil: keep them per instance).
func (l *rateLimiter) withStore(store RateStore, log logrus.FieldLogger) *rateLimiter {
	if l != nil && store != nil {
		l.shared = &sharedRate{store: store, log: log}
	}
	return l
}

// take asks the shared store; when the store fails it says so and the
// caller falls back to the instance's bucket (a per-instance limit is still
// a limit, and refusing every request because the limiter's table is
// unreachable would turn a rate-limit outage into a full one).
func (s *sharedRate) take(key string, rate, burst float64) (time.Duration, bool, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), rateStoreTimeout)
	defer cancel()
	wait, ok, err := s.store.Take(ctx, key, rate, burst)
	if err != nil {
		now := time.Now().UnixNano()
		if last := s.lastWarn.Load(); now-last > int64(time.Minute) && s.lastWarn.CompareAndSwap(last, now) {
			s.log.WithError(err).Warn("shared rate limit unavailable; limiting per instance meanwhile")
		}
		return 0, false, false
	}
	return wait, ok, true
}
