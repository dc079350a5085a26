package auth

import (
	"context"
	"fmt"
	"time"
)

// RateBuckets are the rate-limit token buckets every server instance
// shares (httpapi.RateStore), one row per client in the UNLOGGED table
// api_rate_buckets. A request costs one statement on one row: the row is
// refilled for the time since it was last touched and a token is taken, or
// not, under the row's lock, so instances never double-spend a token.
//
// UNLOGGED: the buckets are not worth a WAL write per request; a crash of
// PostgreSQL empties the table and every bucket starts full again, which
// errs on letting through, as a restarted instance's memory would. The
// table is not replicated either: the limiter talks to the primary.
type RateBuckets struct {
	db DB
	// now is the buckets' clock; nil: the database's, so instances whose
	// clocks differ still agree on how much a bucket has refilled.
	now func() time.Time
}

// NewRateBuckets returns the shared buckets in db (the read-model database,
// migrated by Migrate).
func NewRateBuckets(db DB) *RateBuckets { return &RateBuckets{db: db} }

// WithClock makes the buckets use now instead of the database's clock
// (tests).
func (b *RateBuckets) WithClock(now func() time.Time) *RateBuckets {
	b.now = now
	return b
}

// takeSQL refills key's bucket for the time since it was last touched (a
// clock that went back refills nothing), caps it at the burst, and takes a
// token when a whole one is there. granted says whether it did.
const takeSQL = `
INSERT INTO api_rate_buckets AS b (key, tokens, touched_at, granted)
VALUES ($1, $3::float8 - 1, coalesce($4::timestamptz, clock_timestamp()), true)
ON CONFLICT (key) DO UPDATE SET
	tokens = least($3::float8, b.tokens + $2::float8 * greatest(0, extract(epoch FROM excluded.touched_at - b.touched_at)::float8))
		- CASE WHEN least($3::float8, b.tokens + $2::float8 * greatest(0, extract(epoch FROM excluded.touched_at - b.touched_at)::float8)) >= 1 THEN 1 ELSE 0 END,
	granted = least($3::float8, b.tokens + $2::float8 * greatest(0, extract(epoch FROM excluded.touched_at - b.touched_at)::float8)) >= 1,
	touched_at = greatest(b.touched_at, excluded.touched_at)
RETURNING granted, tokens`

// Take implements httpapi.RateStore.
func (b *RateBuckets) Take(ctx context.Context, key string, rate, burst float64) (time.Duration, bool, error) {
	if rate <= 0 || burst < 1 {
		return 0, false, fmt.Errorf("rate bucket %s: rate %g and burst %g must be positive", key, rate, burst)
	}
	var at *time.Time
	if b.now != nil {
		t := b.now()
		at = &t
	}
	var granted bool
	var tokens float64
	if err := b.db.QueryRow(ctx, takeSQL, key, rate, burst, at).Scan(&granted, &tokens); err != nil {
		return 0, false, fmt.Errorf("rate bucket %s: %w", key, err)
	}
	if granted {
		return 0, true, nil
	}
	return time.Duration((1 - tokens) / rate * float64(time.Second)), false, nil
}
