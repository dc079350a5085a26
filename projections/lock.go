package projections

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// LockKey maps a name to the PostgreSQL advisory lock key the runner uses
// for the projection of that name. Read models use it for their own
// locks (a read model's Migrate) so that keys come from one namespace.
func LockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte("cardledger.projection." + name))
	return int64(h.Sum64())
}

// projectionLock is a session-level advisory lock held on a connection of
// its own: the lock lives exactly as long as that connection, so a crashed
// process releases it and a waiting instance takes over.
type projectionLock struct {
	conn *pgx.Conn
	key  int64
}

// lockKeepalive is the server side's TCP keepalive on a lock connection:
// idle seconds, seconds between probes, probes lost. A process killed on a
// live host has its socket closed by the kernel and PostgreSQL ends its
// session (and the lock) at once; a host that dies or drops off the network
// closes nothing, and PostgreSQL's defaults (the kernel's: two hours idle)
// would keep the dead instance's lock that long. With these the session
// ends about 3 s after the peer went silent, so a standby, polling every
// LockPoll, takes over within 5 s. tcp_user_timeout bounds the same when
// the server was sending (a NOTIFY, an answer) to the silent peer.
var lockKeepalive = []string{
	"SET tcp_keepalives_idle = 1",
	"SET tcp_keepalives_interval = 1",
	"SET tcp_keepalives_count = 2",
	"SET tcp_user_timeout = 3000",
}

// SetLockKeepalive gives conn, the connection of a session advisory lock
// that must die with its process, the server-side keepalive above. Other
// single-active workers (the batch job worker) use it too.
func SetLockKeepalive(ctx context.Context, conn *pgx.Conn) error {
	for _, set := range lockKeepalive {
		if _, err := conn.Exec(ctx, set); err != nil {
			return fmt.Errorf("%s: %w", set, err)
		}
	}
	return nil
}

// lockConn opens the connection of a lock, with lockKeepalive set.
func lockConn(ctx context.Context, pool *pgxpool.Pool, name string) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, pool.Config().ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("lock projection %s: connect: %w", name, err)
	}
	if err := SetLockKeepalive(ctx, conn); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("lock projection %s: %w", name, err)
	}
	return conn, nil
}

// acquireLock waits until it holds the lock for name, trying every poll.
// Trying (not blocking in pg_advisory_lock) keeps ctx cancellation prompt.
func acquireLock(ctx context.Context, pool *pgxpool.Pool, name string, poll time.Duration) (*projectionLock, error) {
	conn, err := lockConn(ctx, pool, name)
	if err != nil {
		return nil, err
	}
	key := LockKey(name)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("lock projection %s: %w", name, err)
		}
		if ok {
			return &projectionLock{conn: conn, key: key}, nil
		}
		select {
		case <-ctx.Done():
			conn.Close(context.Background())
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// watch returns when the lock connection fails (the lock may be gone) or ctx
// ends. The runner stops applying when it returns.
func (l *projectionLock) watch(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			pctx, cancel := context.WithTimeout(ctx, every)
			err := l.conn.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				return fmt.Errorf("advisory lock connection lost: %w", err)
			}
		}
	}
}

// release unlocks and closes the connection; closing alone would release it too.
func (l *projectionLock) release() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = l.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", l.key)
	_ = l.conn.Close(ctx)
}

// tryLock takes the lock for name if it is free at once; nil if not.
func tryLock(ctx context.Context, pool *pgxpool.Pool, name string) (*projectionLock, error) {
	conn, err := lockConn(ctx, pool, name)
	if err != nil {
		return nil, err
	}
	key := LockKey(name)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil || !ok {
		conn.Close(context.Background())
		if err != nil {
			return nil, fmt.Errorf("lock projection %s: %w", name, err)
		}
		return nil, nil
	}
	return &projectionLock{conn: conn, key: key}, nil
}
