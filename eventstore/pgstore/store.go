// Package pgstore is the PostgreSQL adapter of the eventstore port.
//
// All events live in one append-only table, eventstore_events. Invariants:
//   - (stream, revision) is unique, so two appends that read the same stream
//     revision cannot both commit: per-stream optimistic concurrency.
//   - Event ids are unique across the store (UniqueEventIDs). A retried
//     append whose ids are already stored, at an expected revision that
//     matched where they were written, returns the original AppendResult
//     and writes nothing; any other append of a stored id fails with
//     eventstore.ErrDuplicateEventID.
//   - Appends are held to eventstore.MaxAppendSize although PostgreSQL has
//     no such limit, so that writers tested here split their appends as
//     EventStoreDB needs.
//   - An event's global position is (xid, seq): the id of the transaction
//     that wrote it (xid8) and a sequence number taken inside it. $all readers
//     (ReadAll, SubscribeAll, Head) only see rows whose transaction id is
//     below the oldest transaction of this database still running when
//     their snapshot was taken, which makes the visible log a prefix that
//     only ever grows at its end. See visibility.go for why.
//   - AppendWithRow inserts a row of another table of the database in the
//     append's own statement, only when the events are written; a unique
//     violation on that table is eventstore.ErrRowConflict, one on
//     eventstore_events a concurrent writer (the append runs again).
//   - UPDATE, DELETE and TRUNCATE on the table are refused by triggers.
//   - Every row's hash is eventstore/chain's hash of the row and of the hash
//     of the stream's previous row. The append statement computes it from
//     the row it reads as the stream's last (appendSQL), or, when that row
//     is known beforehand (no stream, or the stream cache's event at an
//     Exact revision), gets it computed in Go and inserts only if the row it
//     reads as the stream's last has exactly that revision and hash
//     (appendHashedSQL). Either way the statement ties each new hash to the
//     hash stored before it, and the (stream, revision) uniqueness that
//     serialises writers keeps the chain from forking. Someone with the rights to disable the triggers can
//     still rewrite rows, but not without breaking the chain or the
//     signed digests of package audit.
//   - Concurrent appends that take the hashed path join a group and share
//     one statement, so one commit (append_group.go): each keeps its own
//     guard and answer, a group runs only while another is in flight (a
//     quiet append runs at once, alone), and any error of the group's
//     statement runs each of its appends alone.
//   - Because rows never change, whole-stream reads (ReadStream from 0,
//     how commands load their aggregate) keep what they read in a bounded
//     per-process cache and fetch only the rows from the last cached event
//     on, checked by its id (streamcache.go). A row rewritten behind the
//     triggers' back is not seen by that cache; audit's chain checks read
//     in pages (a limit), which always go to the table.
//
// SubscribeAll reads in batches and then waits for a NOTIFY that the Store
// sends after each committed append (notify.go), polling every 200 ms as
// well, so new events reach subscribers in milliseconds and never later
// than about 200 ms after they become visible.
//
// Open runs Migrate, so a Store is always on the current schema; Migrate is
// exported for tools that want to prepare a database without appending.
package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/eventstore"
)

// Store is an eventstore.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool // Close closes the pool (Open), not a pool shared with others (OpenPool)
	notifier *notifier
	streams  *streamCache  // whole-stream reads (ReadStream from 0)
	tail     tail          // the one live reader of $all its subscriptions share (subscribe.go)
	rows     rowStatements // AppendWithRow's statements (append_row.go)
	group    grouper       // group commit of hashed appends (append_group.go)
}

var _ eventstore.Store = (*Store)(nil)

// Open connects to the database at url (a pgx URL; pool settings such as
// pool_max_conns are honoured), checks the connection and runs Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parse url: %w", err)
	}
	TuneConfig(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	s, err := OpenPool(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// TuneConfig sets what a pool used only by the store should run with.
//
// Every statement of the store is an index lookup whose plan does not
// depend on its parameters, so reuse the generic plan always instead of
// planning again and again whenever PostgreSQL's estimate of the generic
// plan looks worse than custom ones. A pool shared with the read models
// (OpenPool) keeps the server's setting instead: their optional-filter
// queries need custom plans. The append whose planning costs the most
// (appendSQL) sets it for its own transaction on either pool
// (genericPlanSQL).
func TuneConfig(cfg *pgxpool.Config) {
	if _, set := cfg.ConnConfig.RuntimeParams["plan_cache_mode"]; !set {
		cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	}
}

// OpenPool is a Store on a pool the caller owns and closes (after the
// Store): one pool for the event store and the read models when both live
// in one database, so the process has one connection budget. It checks
// the connection and runs Migrate.
func OpenPool(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	if err := pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	s := &Store{pool: pool, streams: newStreamCache(streamCacheBytes)}
	if err := s.Migrate(ctx); err != nil {
		return nil, err
	}
	s.notifier = startNotifier(pool)
	return s, nil
}

// Close stops the store and closes its pool if Open made it. Subscriptions
// still running fail.
func (s *Store) Close() error {
	s.tail.close()
	s.notifier.close()
	if s.ownsPool {
		s.pool.Close()
	}
	return nil
}

// querier is what both the pool and a transaction offer; tests use a
// transaction to hold an append open.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}
