package auth_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// rateServers starts n API instances on one database, each with its own
// pool and, when shared, the buckets in PostgreSQL; every clock is now().
func rateServers(t *testing.T, ctx context.Context, pool *pgxpool.Pool, n int, shared bool, now func() time.Time) []*echo.Echo {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	var servers []*echo.Echo
	for range n {
		own, err := pgxpool.New(ctx, pool.Config().ConnString())
		require.NoError(t, err)
		t.Cleanup(own.Close)
		a := auth.NewAuthenticator(own, time.Minute)
		opts := httpapi.Options{Auth: a, RateLimit: httpapi.RateLimit{PerSecond: 5, Burst: 5}, Log: log, Now: now}
		if shared {
			opts.RateStore = auth.NewRateBuckets(own).WithClock(now)
		}
		servers = append(servers, httpapi.NewServer(opts, []httpapi.Route{{
			Method: http.MethodGet, Path: "/v1/x", Roles: []httpapi.Role{httpapi.RoleCounter, httpapi.RoleChannel},
			Responses: []httpapi.Response{{Status: http.StatusNoContent}},
			Handler:   func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		}}))
	}
	return servers
}

func getX(e *echo.Echo, key string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/v1/x", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// A client spreading its requests over three instances that share their
// buckets in PostgreSQL gets exactly the rate one instance would give it:
// burst 5, then 429 with Retry-After, then 5 a second, whichever instance it
// asks; another client has its own bucket. Without the shared store the
// same requests get three times as many through.
func TestRateLimitHoldsAcrossInstances(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "counter-1", Role: httpapi.RoleCounter})
	require.NoError(t, err)
	other, err := auth.Add(ctx, pool, auth.Client{Name: "counter-2", Role: httpapi.RoleCounter})
	require.NoError(t, err)
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }

	// passed sends n requests round-robin over servers and counts the 204s.
	passed := func(servers []*echo.Echo, key string, n int) (ok int, last *httptest.ResponseRecorder) {
		for i := range n {
			rec := getX(servers[i%len(servers)], key)
			switch rec.Code {
			case http.StatusNoContent:
				ok++
			case http.StatusTooManyRequests:
				last = rec
			default:
				t.Fatalf("request %d: %d %s", i, rec.Code, rec.Body.String())
			}
		}
		return ok, last
	}

	servers := rateServers(t, ctx, pool, 3, true, clock)
	ok, refused := passed(servers, key, 12)
	assert.Equal(t, 5, ok, "the burst, shared by the three instances")
	require.NotNil(t, refused)
	assert.Contains(t, refused.Body.String(), httpapi.CodeRateLimited)
	assert.Equal(t, "1", refused.Header().Get("Retry-After"))
	ok, _ = passed(servers, other, 6)
	assert.Equal(t, 5, ok, "another client has its own bucket")

	advance(time.Second)
	ok, _ = passed(servers, key, 9)
	assert.Equal(t, 5, ok, "5 tokens a second, refilled once for all instances")
	advance(200 * time.Millisecond)
	ok, _ = passed(servers, key, 3)
	assert.Equal(t, 1, ok, "a fifth of a second refills one token")

	// Concurrent requests on every instance never spend a token twice.
	advance(time.Hour)
	var wg sync.WaitGroup
	var granted sync.Map
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			granted.Store(i, getX(servers[i%3], key).Code)
		}()
	}
	wg.Wait()
	codes := map[int]int{}
	granted.Range(func(_, v any) bool { codes[v.(int)]++; return true })
	assert.Equal(t, map[int]int{http.StatusNoContent: 5, http.StatusTooManyRequests: 25}, codes, "30 concurrent requests over 3 instances")

	// Per instance (no RateStore), each instance has its own bucket.
	local := rateServers(t, ctx, pool, 3, false, clock)
	ok, _ = passed(local, other, 18)
	assert.Equal(t, 15, ok, "three instances' bursts")
}

// The buckets follow the database's clock when none is injected, and a
// bucket's row is refilled from the time it was last touched.
func TestRateBucketsOnTheDatabaseClock(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	b := auth.NewRateBuckets(pool)
	for i := range 3 {
		_, ok, err := b.Take(ctx, "k", 0.001, 3)
		require.NoError(t, err)
		assert.True(t, ok, "token %d of the burst", i)
	}
	wait, ok, err := b.Take(ctx, "k", 0.001, 3)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.InDelta(t, 1000*time.Second, wait, float64(time.Second), "a token every 1000 s")
	_, _, err = b.Take(ctx, "k", 0, 3)
	assert.Error(t, err, "a zero rate is a caller's bug")
}

// Every client of one e-card channel spends the channel's one bucket, on
// every instance; another channel has its own.
func TestSharedRateLimitIsPerChannel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	add := func(name, channel string) string {
		key, err := auth.Add(ctx, pool, auth.Client{Name: name, Role: httpapi.RoleChannel, Channel: channel})
		require.NoError(t, err)
		return key
	}
	rs1, rs2, icbc := add("rsapp-1", "rsapp"), add("rsapp-2", "rsapp"), add("icbc-app-1", "icbc-app")
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	servers := rateServers(t, ctx, pool, 3, true, func() time.Time { return now })
	ok := 0
	for i := range 12 {
		key := []string{rs1, rs2}[i%2]
		if code := getX(servers[i%3], key).Code; code == http.StatusNoContent {
			ok++
		} else {
			require.Equal(t, http.StatusTooManyRequests, code)
		}
	}
	assert.Equal(t, 5, ok, "the channel's burst, shared by its two clients over three instances")
	assert.Equal(t, http.StatusNoContent, getX(servers[0], icbc).Code, "another channel")
}

// countingStore counts the statements the shared buckets run.
type countingStore struct {
	*auth.RateBuckets
	n *atomic.Int64
}

func (c countingStore) Lease(ctx context.Context, key string, rate, burst float64, want int, giveBack float64) (int, time.Duration, error) {
	c.n.Add(1)
	return c.RateBuckets.Lease(ctx, key, rate, burst, want, giveBack)
}

// A client whose rate is high leases its tokens a few at a time: most of
// its requests cost no statement, and the cluster still admits exactly
// what one bucket would. Over three instances on a stopped clock: exactly
// the burst passes; a lease is not spent after it expired (an hour later
// exactly the burst passes again, not the burst plus an old lease); what
// is left of an expired lease goes back to the shared bucket with the
// instance's next statement (60 ms of refill plus those tokens pass).
func TestRateLeasesHoldTheSharedLimitWithFewerStatements(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool := newPool(t)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "pos-gateway", Role: httpapi.RoleCounter, RateLimit: 1000})
	require.NoError(t, err)
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	var statements atomic.Int64
	log := logrus.New()
	log.SetOutput(io.Discard)
	var servers []*echo.Echo
	for range 3 {
		own, err := pgxpool.New(ctx, pool.Config().ConnString())
		require.NoError(t, err)
		t.Cleanup(own.Close)
		servers = append(servers, httpapi.NewServer(httpapi.Options{
			Auth: auth.NewAuthenticator(own, time.Minute), Log: log, Now: clock,
			RateLimit: httpapi.RateLimit{PerSecond: 5, Burst: 5}, // the client's 1000/s scales the burst to 1000
			RateStore: countingStore{auth.NewRateBuckets(own).WithClock(clock), &statements},
		}, []httpapi.Route{{
			Method: http.MethodGet, Path: "/v1/x", Roles: []httpapi.Role{httpapi.RoleCounter},
			Responses: []httpapi.Response{{Status: http.StatusNoContent}},
			Handler:   func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
		}}))
	}
	// passed sends n requests round-robin over the servers at indexes on.
	passed := func(n int, on ...int) int {
		ok := 0
		for i := range n {
			switch code := getX(servers[on[i%len(on)]], key).Code; code {
			case http.StatusNoContent:
				ok++
			case http.StatusTooManyRequests:
			default:
				t.Fatalf("request %d: %d", i, code)
			}
		}
		return ok
	}
	all := []int{0, 1, 2}

	before := statements.Load()
	assert.Equal(t, 1000, passed(1100, all...), "the burst, spent on every instance")
	spent := statements.Load() - before
	t.Logf("%d statements for the first 1100 requests", spent)
	assert.LessOrEqual(t, spent, int64(3*(4+1+29)+100), "leases of 2, 4, 8, 16 then 32 tokens; a statement per refusal: %d statements for 1100 requests", spent)
	assert.Equal(t, 0, passed(30, all...), "the shared bucket is empty and every lease spent")

	// Instance 0 takes a lease and spends one token of it; the others
	// empty the bucket. An hour later the lease has expired: exactly the
	// burst passes, whichever instance is asked first.
	advance(time.Hour)
	require.Equal(t, 1, passed(1, 0))
	rest := passed(1100, 1, 2)
	assert.Less(t, rest, 999, "instance 0 holds the rest of its lease")
	advance(time.Hour)
	assert.Equal(t, 1000, passed(1100, 0, 1, 2), "the burst, not the burst and an expired lease")

	// Again, but 60 ms later: 60 tokens of refill, and what instance 0
	// had not spent goes back into the shared bucket with its next
	// statement, so every token the bucket gave out is spent once.
	advance(time.Hour)
	require.Equal(t, 1, passed(1, 0))
	rest = passed(1100, 1, 2)
	held := 1000 - 1 - rest
	require.Positive(t, held, "instance 0 holds the rest of its lease")
	advance(60 * time.Millisecond)
	assert.Equal(t, 60+held, passed(200, 0, 1, 2), "60 ms of refill and the %d tokens given back", held)

	// Concurrent requests on every instance share the leases without
	// spending a token twice: exactly the burst passes.
	advance(time.Hour)
	var wg sync.WaitGroup
	var ok atomic.Int64
	for i := range 1200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if getX(servers[i%3], key).Code == http.StatusNoContent {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	ok.Add(int64(passed(300, all...))) // leases still held when the bucket ran dry
	assert.Equal(t, int64(1000), ok.Load(), "1,500 requests, 1,200 of them at once, over three instances")
}

// The bucket's statement takes up to the number wanted, only whole
// tokens, and counts tokens given back up to the burst.
func TestRateBucketLease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	b := auth.NewRateBuckets(pool).WithClock(func() time.Time { return now })
	lease := func(want int, giveBack float64) (int, time.Duration) {
		got, wait, err := b.Lease(ctx, "k", 10, 10.5, want, giveBack)
		require.NoError(t, err)
		return got, wait
	}
	got, _ := lease(4, 0)
	assert.Equal(t, 4, got, "a new bucket is full")
	got, _ = lease(100, 0)
	assert.Equal(t, 6, got, "the whole tokens left of 10.5")
	got, wait := lease(3, 0)
	assert.Equal(t, 0, got)
	assert.Equal(t, 50*time.Millisecond, wait, "half a token is there, at 10 a second")
	got, _ = lease(5, 2)
	assert.Equal(t, 2, got, "two given back, half a token left")
	got, _ = lease(1, 100)
	assert.Equal(t, 1, got, "given back up to the burst")
	got, _ = lease(100, 0)
	assert.Equal(t, 9, got, "10.5 - 1")
	_, _, err := b.Lease(ctx, "k", 10, 10, 0, 0)
	assert.Error(t, err, "wanting nothing is a caller's bug")
}
