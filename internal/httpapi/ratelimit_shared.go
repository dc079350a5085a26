package httpapi

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// RateStore holds token buckets that every server instance shares, so a
// client's limit is the same whether it talks to one instance or spreads
// its requests over many (see auth.RateBuckets, backed by PostgreSQL).
type RateStore interface {
	// Lease adds giveBack unspent tokens of an earlier lease to key's
	// bucket, which holds at most burst tokens and refills at rate per
	// second, and takes up to want tokens from it, as many whole ones as
	// are there; when none is, it returns how long until one is.
	Lease(ctx context.Context, key string, rate, burst float64, want int, giveBack float64) (got int, wait time.Duration, err error)
}

// rateStoreTimeout bounds one Take: a slow or saturated database must not
// stall every request, so past it the instance's own bucket answers.
const rateStoreTimeout = time.Second

// Leases: a client whose rate is high takes its tokens from the shared
// bucket a few at a time and spends them in this instance, so that most of
// its requests cost no statement. The cluster-wide limit stays honest:
// every token spent was first taken from the one shared bucket, a lease
// is spent only within leaseFor of being taken, and what is left of it
// then is given back with the key's next statement. So over any span of
// time the cluster admits no more than the shared bucket gave out over
// that span and the leaseFor before it: at most rate × leaseFor (and at
// most maxLease per instance) more than one bucket would, and only the
// clients whose rate × leaseFor is at least 2 lease at all; the others
// take one token per request as before. A lease's size starts at 2 and
// doubles while leases are used up, and falls to twice what was used when
// one expires unspent, so an instance that sees few of a client's
// requests holds few of its tokens.
const (
	leaseFor = 50 * time.Millisecond
	maxLease = 32
)

// sharedRate is the shared side of a rateLimiter.
type sharedRate struct {
	store    RateStore
	log      logrus.FieldLogger
	lastWarn atomic.Int64 // unix nanoseconds of the last warning

	mu     sync.Mutex
	leases map[string]*lease
}

// lease is the tokens of one key this instance took and has not spent.
type lease struct {
	mu    sync.Mutex // held while the lease is renewed: one statement at a time per key
	left  int        // tokens not spent
	size  int        // tokens the last renewal got, at least 1
	got   int        // tokens the last renewal got
	until time.Time  // left may be spent before until
}

// leaseSize is how many tokens a lease of a bucket of rate and burst may
// hold: rate × leaseFor and a quarter of the burst, at most maxLease; below
// 2 the key does not lease.
func leaseSize(rate, burst float64) int {
	return int(min(maxLease, rate*leaseFor.Seconds(), burst/4))
}

// allow spends a token of key's lease, renewing it from the store when it
// is spent or expired; answered is false when the store failed (the
// caller falls back to the instance's bucket).
func (s *sharedRate) allow(key string, rate, burst float64, now time.Time) (wait time.Duration, ok, answered bool) {
	most := leaseSize(rate, burst)
	if most < 2 {
		return s.take(key, rate, burst, 1, 0)
	}
	s.mu.Lock()
	if s.leases == nil {
		s.leases = map[string]*lease{}
	}
	l, found := s.leases[key]
	if !found {
		if len(s.leases) >= maxBuckets {
			for k, l := range s.leases {
				if l.mu.TryLock() {
					if !now.Before(l.until) {
						delete(s.leases, k) // its unspent tokens are not given back: errs on refusing
					}
					l.mu.Unlock()
				}
			}
		}
		l = &lease{size: 1}
		s.leases[key] = l
	}
	s.mu.Unlock()

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.left > 0 && now.Before(l.until) {
		l.left--
		return 0, true, true
	}
	giveBack, used := l.left, l.got-l.left
	want := min(most, 2*l.size)
	if giveBack > 0 {
		want = min(most, max(2, 2*used))
	}
	wait, got, answered := s.lease(key, rate, burst, want, giveBack)
	if !answered {
		return 0, false, false
	}
	l.left, l.size, l.got, l.until = 0, max(1, got), got, now.Add(leaseFor)
	if got == 0 {
		return wait, false, true
	}
	l.left = got - 1
	return 0, true, true
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
func (s *sharedRate) take(key string, rate, burst float64, want, giveBack int) (time.Duration, bool, bool) {
	wait, got, answered := s.lease(key, rate, burst, want, giveBack)
	return wait, got > 0, answered
}

// lease asks the store for up to want tokens, giving giveBack back.
func (s *sharedRate) lease(key string, rate, burst float64, want, giveBack int) (time.Duration, int, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), rateStoreTimeout)
	defer cancel()
	got, wait, err := s.store.Lease(ctx, key, rate, burst, want, float64(giveBack))
	if err != nil {
		now := time.Now().UnixNano()
		if last := s.lastWarn.Load(); now-last > int64(time.Minute) && s.lastWarn.CompareAndSwap(last, now) {
			s.log.WithError(err).Warn("shared rate limit unavailable; limiting per instance meanwhile")
		}
		return 0, 0, false
	}
	return wait, got, true
}
