package httpapi

import (
	"sync"
	"time"
)

// RateLimit is the per-client token bucket of authenticated routes: each
// client may send Burst requests at once and PerSecond on average. With
// Options.RateStore every instance draws from the same bucket; without, each
// instance has its own, so the cluster-wide limit is the instance count
// times this. A client's Principal.RateLimit overrides PerSecond (and scales
// the burst with it).
//
// An e-card channel (RoleChannel) is limited as a whole: every client of
// the channel draws from one bucket, keyed by the channel code, at
// ChannelPerSecond (PerSecond when 0), so a channel cannot multiply its
// rate by registering more clients.
type RateLimit struct {
	PerSecond float64 // 0 disables limiting
	Burst     int     // 0: one second's worth, at least 1
	// ChannelPerSecond is the rate of one e-card channel, all its clients
	// together; 0: PerSecond.
	ChannelPerSecond float64
}

// maxBuckets bounds memory; past it buckets idle for a minute are dropped
// (a dropped bucket starts full again: forgetting errs on letting through).
const maxBuckets = 10_000

type rateLimiter struct {
	def RateLimit

	mu      sync.Mutex
	buckets map[string]*bucket

	shared *sharedRate // nil: buckets per instance only
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(rl RateLimit) *rateLimiter {
	if rl.PerSecond <= 0 {
		return nil
	}
	return &rateLimiter{def: rl, buckets: map[string]*bucket{}}
}

// allow takes a token for p's client; when none is left it returns how long
// until one is.
func (l *rateLimiter) allow(p Principal, now time.Time) (time.Duration, bool) {
	rate, burst := l.def.PerSecond, float64(l.def.Burst)
	key := p.Client
	if p.Role == RoleChannel && p.Channel != "" {
		key = "channel\x1f" + p.Channel // no client name holds a control character (auth.AddSealed)
		if l.def.ChannelPerSecond > 0 {
			if burst > 0 {
				burst *= l.def.ChannelPerSecond / rate
			}
			rate = l.def.ChannelPerSecond
		}
	}
	if p.RateLimit > 0 {
		if burst > 0 {
			burst *= p.RateLimit / rate
		}
		rate = p.RateLimit
	}
	if burst < 1 {
		burst = max(1, rate)
	}
	if l.shared != nil {
		// Shared mode (Options.RateStore): one bucket per key (client, or
		// channel for every client of one channel) for every instance.
		if wait, ok, answered := l.shared.allow(key, rate, burst, now); answered {
			return wait, ok
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= maxBuckets {
			l.dropIdle(now)
		}
		b = &bucket{tokens: burst, last: now}
		l.buckets[key] = b
	}
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(burst, b.tokens+elapsed.Seconds()*rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / rate * float64(time.Second)), false
}

// dropIdle forgets buckets idle for a minute, or all if that is not enough.
func (l *rateLimiter) dropIdle(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.last) > time.Minute {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= maxBuckets {
		clear(l.buckets)
	}
}
