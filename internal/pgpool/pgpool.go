// Package pgpool configures the PostgreSQL connection pools of a process
// within a connection budget.
//
// Budget: a process opens at most MaxConns pooled connections (default
// DefaultMaxConns) plus PerProcessExtra connections outside the pool (the
// projections' advisory-lock and LISTEN connections). The read models and
// the PostgreSQL event store share one pool when their URLs name the same
// database, so three processes (e.g. two `serve`, one `project`) stay at
// 3 × 27 = 81 of a stock max_connections = 100, leaving room for psql,
// migrations and the superuser reserve.
//
// A read replica (CARDLEDGER_POSTGRES_READ_URL) is another server with its
// own max_connections (a hot standby needs at least the primary's): its
// pool is DefaultReadMaxConns unless its URL says otherwise, so three
// processes take 30 of its 100, and the primary's budget is unchanged. A
// read URL that names the primary's own database opens no second pool.
//
// A pool that is saturated makes a caller wait at most the acquire timeout
// (pool_acquire_timeout in the URL, default DefaultAcquireTimeout); then the
// caller gets context.DeadlineExceeded, which the HTTP layer answers as 503
// dependency_unavailable with Retry-After instead of queueing without bound.
package pgpool

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultMaxConns is pool_max_conns for URLs that set none. pgx's own
// default (4 on small machines) throttles group commit of appends.
const DefaultMaxConns = 20

// DefaultReadMaxConns is pool_max_conns of a read-replica pool whose URL
// sets none: reads are single short queries (the snapshot one longer
// transaction), never commit-bound like appends.
const DefaultReadMaxConns = 10

// PerProcessExtra counts the connections a process opens outside its pool:
// one advisory-lock connection per projection (three: read model, audit,
// analytics), one LISTEN connection of the runner and up to three of live
// subscriptions.
const PerProcessExtra = 7

// DefaultAcquireTimeout bounds the wait for a pooled connection.
const DefaultAcquireTimeout = 3 * time.Second

// DefaultConnectTimeout bounds a connection attempt whose URL sets none.
const DefaultConnectTimeout = 5 * time.Second

// acquireTimeoutParam is our own URL parameter; pgx never sees it (it
// would pass it to the server as a setting).
const acquireTimeoutParam = "pool_acquire_timeout"

var acquireTimeoutKV = regexp.MustCompile(`(^|\s)` + acquireTimeoutParam + `=(\S*)`)

// ParseConfig is pgxpool.ParseConfig with this package's defaults: pool
// size, connect timeout, the acquire timeout, and uuid.UUID arguments
// encoded directly (EncodeUUIDs).
func ParseConfig(rawURL string) (*pgxpool.Config, error) {
	rest, timeout, err := takeAcquireTimeout(rawURL)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(rest)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(rest, "pool_max_conns=") {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 { // the URL's connect_timeout wins
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if timeout > 0 && cfg.ConnConfig.Tracer == nil {
		cfg.ConnConfig.Tracer = acquireDeadline{timeout}
	}
	after := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		EncodeUUIDs(conn.TypeMap())
		if after != nil {
			return after(ctx, conn)
		}
		return nil
	}
	return cfg, nil
}

// ParseReadConfig is ParseConfig for a read replica's pool: its default
// size is DefaultReadMaxConns.
func ParseReadConfig(rawURL string) (*pgxpool.Config, error) {
	cfg, err := ParseConfig(rawURL)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(rawURL, "pool_max_conns=") {
		cfg.MaxConns = DefaultReadMaxConns
	}
	return cfg, nil
}

// takeAcquireTimeout removes pool_acquire_timeout from a URL or key=value
// connection string and returns its value (default if absent; 0 turns the
// bound off).
func takeAcquireTimeout(raw string) (string, time.Duration, error) {
	value, found := "", false
	if u, err := url.Parse(raw); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		if q.Has(acquireTimeoutParam) {
			value, found = q.Get(acquireTimeoutParam), true
			q.Del(acquireTimeoutParam)
			u.RawQuery = q.Encode()
			raw = u.String()
		}
	} else if m := acquireTimeoutKV.FindStringSubmatch(raw); m != nil {
		value, found = m[2], true
		raw = strings.TrimSpace(acquireTimeoutKV.ReplaceAllString(raw, " "))
	}
	if !found {
		return raw, DefaultAcquireTimeout, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		if n, nerr := strconv.Atoi(value); nerr == nil {
			return raw, time.Duration(n) * time.Second, nil
		}
		return "", 0, fmt.Errorf("%s=%q: want a duration such as 3s", acquireTimeoutParam, value)
	}
	return raw, d, nil
}

// SameDatabase reports whether two connection strings name the same
// database on the same server as the same user: then one pool serves both.
func SameDatabase(a, b string) bool {
	ra, _, errA := takeAcquireTimeout(a)
	rb, _, errB := takeAcquireTimeout(b)
	if errA != nil || errB != nil {
		return false
	}
	ca, errA := pgconn.ParseConfig(stripPoolParams(ra))
	cb, errB := pgconn.ParseConfig(stripPoolParams(rb))
	if errA != nil || errB != nil {
		return false
	}
	return ca.Host == cb.Host && ca.Port == cb.Port && ca.Database == cb.Database && ca.User == cb.User
}

// stripPoolParams removes pgxpool's own pool_* parameters, which pgconn
// would send to the server.
func stripPoolParams(raw string) string {
	if u, err := url.Parse(raw); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		for k := range q {
			if strings.HasPrefix(k, "pool_") {
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	return regexp.MustCompile(`(^|\s)pool_\w+=\S*`).ReplaceAllString(raw, " ")
}

// acquireDeadline bounds pool acquires (pgxpool.AcquireTracer may replace
// the acquire's context); queries are not traced.
type acquireDeadline struct{ timeout time.Duration }

type cancelKey struct{}

func (a acquireDeadline) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	ctx, cancel := context.WithTimeout(ctx, a.timeout)
	return context.WithValue(ctx, cancelKey{}, cancel)
}

func (a acquireDeadline) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireEndData) {
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

func (acquireDeadline) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (acquireDeadline) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
