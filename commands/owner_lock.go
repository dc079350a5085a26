package commands

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// ownerLockClass is the first key of every owner lock
// (pg_advisory_lock(int, int)); the second is the owner id. Two-int keys
// never collide with the one-bigint keys taken elsewhere.
const ownerLockClass int32 = 0x49444b59 // "IDKY"

const (
	// ownerPing is how often the lock's connection is checked; a lost one
	// is replaced (and the lock taken again) at the next check.
	ownerPing = 5 * time.Second
	// ownerConnectTimeout bounds the first Claim's wait for the lock.
	ownerConnectTimeout = 5 * time.Second
	// ownerIDAttempts bounds the random ids tried when one is taken.
	ownerIDAttempts = 8
)

// ownerLock is a process's liveness as PostgreSQL sees it: a session-level
// advisory lock held on a connection of its own, so the lock lives exactly
// as long as the process (projections/lock.go holds projections the same
// way). A kill -9 closes the connection and PostgreSQL frees the lock at
// once; the server-side TCP keepalives set on the connection free it within
// about half a minute when the process's host vanishes without closing it.
//
// It costs one connection per process, whatever the number of requests in
// flight; holding a connection or transaction per request would tie the
// connection budget to the request rate.
type ownerLock struct {
	config *pgx.ConnConfig
	id     atomic.Int32 // the owner id while the lock is held, else 0

	mu      sync.Mutex
	started bool
	closed  bool
	stop    context.CancelFunc
	done    chan struct{}
}

func newOwnerLock(config *pgx.ConnConfig) *ownerLock {
	config = config.Copy()
	if config.RuntimeParams == nil {
		config.RuntimeParams = map[string]string{}
	}
	config.RuntimeParams["application_name"] = orDefault(config.RuntimeParams["application_name"], "cardledger") + " idempotency owner"
	config.RuntimeParams["tcp_keepalives_idle"] = "10"
	config.RuntimeParams["tcp_keepalives_interval"] = "5"
	config.RuntimeParams["tcp_keepalives_count"] = "3"
	return &ownerLock{config: config}
}

// current returns the owner id a claim records, or 0 while the lock is not
// held (such claims are freed by staleness only). The first call takes the
// lock, waiting at most ownerConnectTimeout, and starts keeping it.
func (o *ownerLock) current(ctx context.Context) int32 {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.started && !o.closed {
		o.started = true
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ownerConnectTimeout)
		conn := o.acquire(actx, 0)
		cancel()
		run, stop := context.WithCancel(context.Background())
		o.stop, o.done = stop, make(chan struct{})
		go o.keep(run, conn)
	}
	return o.id.Load()
}

// acquire connects and takes a lock: prefer's if given (claims made under
// it stay owned), else a random free id. It returns nil on failure.
func (o *ownerLock) acquire(ctx context.Context, prefer int32) *pgx.Conn {
	conn, err := pgx.ConnectConfig(ctx, o.config)
	if err != nil {
		return nil
	}
	for i := range ownerIDAttempts {
		id := prefer
		if i > 0 || id == 0 {
			id = rand.Int32N(math.MaxInt32) + 1
		}
		var ok bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", ownerLockClass, id).Scan(&ok); err != nil {
			break
		}
		if ok {
			o.id.Store(id)
			return conn
		}
	}
	_ = conn.Close(context.Background())
	return nil
}

// keep checks the lock's connection every ownerPing and replaces it when
// it is lost, until ctx ends.
func (o *ownerLock) keep(ctx context.Context, conn *pgx.Conn) {
	defer close(o.done)
	t := time.NewTicker(ownerPing)
	defer t.Stop()
	last := o.id.Load()
	for {
		select {
		case <-ctx.Done():
			o.id.Store(0)
			if conn != nil {
				cctx, cancel := context.WithTimeout(context.Background(), ownerConnectTimeout)
				_ = conn.Close(cctx) // closing frees the lock
				cancel()
			}
			return
		case <-t.C:
		}
		if conn != nil {
			pctx, cancel := context.WithTimeout(ctx, ownerPing)
			err := conn.Ping(pctx)
			cancel()
			if err == nil {
				continue
			}
			o.id.Store(0)
			_ = conn.Close(context.Background())
		}
		actx, cancel := context.WithTimeout(ctx, ownerConnectTimeout)
		conn = o.acquire(actx, last)
		cancel()
		if conn != nil {
			last = o.id.Load()
		}
	}
}

// close frees the lock and stops keeping it; current returns 0 after.
func (o *ownerLock) close() {
	o.mu.Lock()
	o.closed = true
	stop, done := o.stop, o.done
	o.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}
