package auth

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// RateBuckets are the rate-limit token buckets every server instance
// shares (httpapi.RateStore), one row per client in the UNLOGGED table
// api_rate_buckets. A statement on one row refills it for the time since
// it was last touched and takes a token, or a few (a lease, see
// httpapi.RateStore), or none, under the row's lock, so instances never
// double-spend a token.
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

// leaseSQL refills key's bucket for the time since it was last touched (a
// clock that went back refills nothing) and by the tokens given back ($6),
// caps it at the burst, and takes as many whole tokens as are there, up to
// the number wanted ($5). taken says how many it took.
var leaseSQL = strings.NewReplacer("AVAIL", leaseAvail, "TAKE", leaseTake).Replace(`
INSERT INTO api_rate_buckets AS b (key, tokens, touched_at, granted, taken)
VALUES ($1, $3::float8 - least($5::float8, floor($3::float8)), coalesce($4::timestamptz, clock_timestamp()), true,
	least($5::float8, floor($3::float8)))
ON CONFLICT (key) DO UPDATE SET
	tokens = AVAIL - TAKE,
	granted = TAKE >= 1,
	taken = TAKE,
	touched_at = greatest(b.touched_at, excluded.touched_at)
RETURNING taken, tokens`)

const (
	leaseAvail = `least($3::float8, b.tokens + $6::float8 + $2::float8 * greatest(0, extract(epoch FROM excluded.touched_at - b.touched_at)::float8))`
	leaseTake  = `least($5::float8, floor(` + leaseAvail + `))`
)

// Take takes one token; when none is left it returns how long until one is.
func (b *RateBuckets) Take(ctx context.Context, key string, rate, burst float64) (time.Duration, bool, error) {
	got, wait, err := b.Lease(ctx, key, rate, burst, 1, 0)
	return wait, got == 1, err
}

// Lease implements httpapi.RateStore: after adding giveBack unspent tokens
// of an earlier lease, it takes up to want tokens from key's bucket, as
// many whole ones as are there; when none is, it returns how long until
// one is.
func (b *RateBuckets) Lease(ctx context.Context, key string, rate, burst float64, want int, giveBack float64) (int, time.Duration, error) {
	if rate <= 0 || burst < 1 || want < 1 || giveBack < 0 {
		return 0, 0, fmt.Errorf("rate bucket %s: rate %g, burst %g, want %d and give-back %g out of range", key, rate, burst, want, giveBack)
	}
	var at *time.Time
	if b.now != nil {
		t := b.now()
		at = &t
	}
	var taken, tokens float64
	if err := b.db.QueryRow(ctx, leaseSQL, key, rate, burst, at, float64(want), giveBack).Scan(&taken, &tokens); err != nil {
		return 0, 0, fmt.Errorf("rate bucket %s: %w", key, err)
	}
	if taken >= 1 {
		return int(taken), 0, nil
	}
	return 0, time.Duration((1 - tokens) / rate * float64(time.Second)), nil
}
