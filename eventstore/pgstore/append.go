package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardledger/cardledger/eventstore"
)

// Event ids are unique store-wide: an append carrying an id already stored,
// but not as an earlier append of exactly these events at this expected
// revision, is neither new nor a retry and fails with the port's
// eventstore.ErrDuplicateEventID.
var _ eventstore.UniqueEventIDs = (*Store)(nil)

// UniqueEventIDs reports true: the table's primary key is the event id.
func (s *Store) UniqueEventIDs() bool { return true }

// notifyChannel is signalled after appends commit; see notify.go.
const notifyChannel = "eventstore_events"

// Expected-revision kinds as the append statement tests them.
const (
	kindAny = iota
	kindNoStream
	kindStreamExists
	kindExact
)

// appendSQL is the whole append in one statement, so one round trip and one
// implicit transaction: read the stream's last revision and hash, check the
// expectation and that none of the ids is stored, chain the new events to
// that hash (chained, one event per step of the recursion) and insert them
// from arrays. When a check fails nothing is inserted and the caller learns
// why from cur_rev and dup_count.
//
// Two appends that read the same cur_rev collide on (stream, revision): the
// later one waits for the first to commit and then fails with a unique
// violation, and Append runs it again on the new state, chaining to the
// hash the first one wrote. So a chain can never fork.
//
// When the event to chain to is known before the append (no stream, or the
// stream cache's event at an Exact revision), appendOnce runs
// appendHashedSQL instead (append_hashed.go): the same checks and answer,
// with the hashes computed in Go.
const appendSQL = appendCTEs + appendAnswer

// curStep is the first step of both append statements: the stream's last
// row ($1), one row of NULLs when it has none.
const curStep = `cur AS (
	SELECT last.rev, last.hash FROM (SELECT) one LEFT JOIN LATERAL (
		SELECT revision AS rev, hash FROM eventstore_events
		WHERE stream = $1 ORDER BY revision DESC LIMIT 1
	) last ON true
)`

// appendCTEs are appendSQL's steps; a row's step (rowInsert) goes after them.
const appendCTEs = `
WITH RECURSIVE ` + curStep + `, dup AS (
	SELECT count(*) AS n FROM eventstore_events WHERE id = ANY($2::uuid[])
), e AS (
	SELECT e.id, e.type, coalesce(e.data, '') AS data, coalesce(e.metadata, '') AS metadata, e.ord
	FROM unnest($2::uuid[], $3::text[], $4::bytea[], $5::bytea[])
		WITH ORDINALITY AS e(id, type, data, metadata, ord)
), chained AS (
	SELECT e.ord, coalesce(cur.rev, -1) + 1 AS revision, e.id, e.type, e.data, e.metadata,
		eventstore_chain_hash(cur.hash, $1, coalesce(cur.rev, -1) + 1, e.id, e.type, e.data, e.metadata) AS hash
	FROM cur, e WHERE e.ord = 1
	UNION ALL
	SELECT e.ord, c.revision + 1, e.id, e.type, e.data, e.metadata,
		eventstore_chain_hash(c.hash, $1, c.revision + 1, e.id, e.type, e.data, e.metadata)
	FROM chained c JOIN e ON e.ord = c.ord + 1
), ins AS (
	INSERT INTO eventstore_events (stream, revision, id, type, data, metadata, hash)
	SELECT $1, c.revision, c.id, c.type, c.data, c.metadata, c.hash
	FROM cur, dup, chained c
	WHERE dup.n = 0 AND CASE $6::int
		WHEN 1 THEN cur.rev IS NULL
		WHEN 2 THEN cur.rev IS NOT NULL
		WHEN 3 THEN cur.rev IS NOT DISTINCT FROM $7::bigint
		ELSE true END
	ORDER BY c.ord
	RETURNING revision, xid, seq
), last AS (
	SELECT revision, xid, seq FROM ins ORDER BY seq DESC LIMIT 1
)`

// appendAnswer is appendSQL's one row.
const appendAnswer = `
SELECT cur.rev, dup.n, last.revision, last.xid, last.seq
FROM cur CROSS JOIN dup LEFT JOIN last ON true`

// maxAppendAttempts bounds reruns after unique violations. Each rerun means
// another writer committed to the same stream, so progress is made; the
// bound only stops a pathological loop.
const maxAppendAttempts = 100

// Append writes events to stream in one transaction if the stream is at
// expected. See the package doc for idempotency.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if err := checkAppend(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	for attempt := 1; ; attempt++ {
		res, _, err := appendOnce(ctx, s.pool, &s.group, s.streams, nil, stream, expected, events)
		if err == nil {
			s.notifier.appended()
		}
		if !isUniqueViolation(err) || attempt == maxAppendAttempts {
			return res, err
		}
	}
}

// checkAppend refuses what no append may carry, before any round trip.
func checkAppend(stream string, events []eventstore.EventData) error {
	if len(events) == 0 {
		return fmt.Errorf("append %s: no events", stream)
	}
	for i, e := range events {
		if e.ID == uuid.Nil {
			return fmt.Errorf("append %s: event %d has no id", stream, i)
		}
	}
	// PostgreSQL has no such limit; the port's is kept so that writers
	// split their appends here as they must on EventStoreDB.
	return eventstore.CheckAppendSize(stream, events)
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}

// idConstraint is the schema's unique constraint on event ids.
const idConstraint = "eventstore_events_id"

// isStoredID is a unique violation on the event ids: one of the append's
// ids is stored already (a retry, or a reused id), not a concurrent writer
// that took the revision.
func isStoredID(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == idConstraint
}

// genericPlanSQL makes the statements after it in the same transaction
// (implicit or not) reuse their cached generic plan. appendSQL is costly to
// plan (≈ 0.4 ms, more than it takes to run) and, under the server's default
// plan_cache_mode, PostgreSQL keeps planning it afresh because the generic
// plan's estimate (arrays of unknown length) looks worse than custom plans
// for one event. Its plan does not depend on the parameters (index lookups
// by stream and by id, a few rows), so the generic one is as good. A setting
// on the pool would do the same, but the event store shares its pool with
// the read models when both live in one database (OpenPool), and some of
// their queries need custom plans; so the append sets it for its own
// transaction only, in the same round trip. appendHashedSQL, cheap to
// plan and whose generic plan PostgreSQL picks by itself, goes without.
//
// It also turns sequential scans off for that transaction: a generic plan
// made while eventstore_events is young (a new database, before autovacuum
// first analyzes it) estimated the id probe (dup) cheaper as a scan of the
// whole table, and a connection keeps its generic plan until the table's
// statistics change, so its appends slowed as the table grew. The plan
// has an index for every lookup; now it always takes it.
const genericPlanSQL = `SELECT set_config('plan_cache_mode', 'force_generic_plan', true), set_config('enable_seqscan', 'off', true)`

// appendOnce runs one append statement: appendHashedSQL when the event to
// chain to is known (append_hashed.go), else, or when what was known is
// stale (the cache entry then goes), appendSQL; row, if not nil, adds its
// insert step to either (append_row.go). g, if not nil, groups hashed
// appends with concurrent ones (append_group.go). cache may be nil. wrote is false
// when it wrote nothing (an idempotent retry, or an error).
func appendOnce(ctx context.Context, q querier, g *grouper, cache *streamCache, row *rowStep, stream string, expected eventstore.ExpectedRevision,
	events []eventstore.EventData) (res eventstore.AppendResult, wrote bool, err error) {
	if prev, ok := knownPrev(cache, stream, expected); ok {
		hashes := chainHashes(stream, prev, events)
		res, wrote, stale, err := appendHashed(ctx, q, g, row, stream, expected, events, prev, hashes)
		if !stale {
			if wrote && cache != nil {
				cache.appended(stream, res.Revision, hashes[len(hashes)-1])
			}
			return res, wrote, err
		}
		cache.drop(stream) // stale only when the cache named the row
	}
	stmt, extra := appendSQL, []any(nil)
	if row != nil {
		stmt, extra = row.plain, row.values
	}
	args, ids := appendArgs(stream, expected, events)
	b := &pgx.Batch{}
	b.Queue(genericPlanSQL)
	b.Queue(stmt, append(args, extra...)...)
	br := q.SendBatch(ctx, b)
	_, err = br.Exec()
	var r appendRow
	if err == nil {
		r, err = scanAppendRow(br.QueryRow())
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return eventstore.AppendResult{}, false, fmt.Errorf("append %s: %w", stream, err)
	}
	res, err = r.outcome(ctx, q, stream, expected, ids)
	return res, err == nil && r.lastRev != nil, err
}

// appendParams is how many parameters appendSQL takes ($1 to $7).
const appendParams = 7

// appendArgs are appendSQL's parameters for one stream, and the event ids.
func appendArgs(stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) ([]any, [][16]byte) {
	ids := make([][16]byte, len(events))
	types := make([]string, len(events))
	data := make([][]byte, len(events))
	metadata := make([][]byte, len(events))
	for i, e := range events {
		ids[i], types[i], data[i], metadata[i] = e.ID, e.Type, e.Data, e.Metadata
	}
	kind, exact := kindAny, int64(0)
	switch rev, isExact := expected.Revision(); {
	case expected.IsNoStream():
		kind = kindNoStream
	case expected.IsStreamExists():
		kind = kindStreamExists
	case isExact:
		kind, exact = kindExact, int64(rev)
	}
	return []any{stream, ids, types, data, metadata, kind, exact}, ids
}

// appendRow is appendSQL's answer.
type appendRow struct {
	curRev, lastRev, lastSeq *int64
	lastXID                  *uint64
	dups                     *int64 // how many of the ids are stored; nil: not looked up (appendHashedSQL)
}

func scanAppendRow(row pgx.Row) (appendRow, error) {
	var r appendRow
	err := row.Scan(&r.curRev, &r.dups, &r.lastRev, &r.lastXID, &r.lastSeq)
	return r, err
}

// outcome is the result of the append appendSQL's row answers, of the
// retry it turned out to be, or why it wrote nothing.
func (r appendRow) outcome(ctx context.Context, q querier, stream string, expected eventstore.ExpectedRevision, ids [][16]byte) (eventstore.AppendResult, error) {
	if r.lastRev != nil {
		return eventstore.AppendResult{
			Revision: uint64(*r.lastRev),
			Position: eventstore.Position{Commit: *r.lastXID, Prepare: uint64(*r.lastSeq)},
		}, nil
	}
	if r.dups == nil || *r.dups > 0 {
		return findRetried(ctx, q, stream, expected, ids, r.curRev, true)
	}
	return eventstore.AppendResult{}, wrongRevision(stream, expected, r.curRev)
}

func wrongRevision(stream string, expected eventstore.ExpectedRevision, curRev *int64) error {
	e := &eventstore.WrongRevisionError{Stream: stream, Expected: expected}
	if curRev != nil {
		e.Actual, e.ActualExists = uint64(*curRev), true
	}
	return e
}

// findRetried decides whether an append that wrote nothing, refused by its
// expectation or by a stored id, is a retry: the ids must be stored in
// this stream, in this order, at consecutive revisions, and expected must
// have accepted the stream as it was just before them. Then it returns the
// original result, Retried. refused says the expectation refused the
// append, the stream being at curRev (nil: no stream): with none of the
// ids stored that is the answer. Otherwise (an insert that failed on a
// stored id) the stream's revision is read again when needed.
func findRetried(ctx context.Context, q querier, stream string, expected eventstore.ExpectedRevision, ids [][16]byte,
	curRev *int64, refused bool) (eventstore.AppendResult, error) {
	rows, err := q.Query(ctx, `SELECT `+eventColumns+` FROM eventstore_events
		WHERE id = ANY($1::uuid[]) ORDER BY xid, seq`, ids)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: find retried events: %w", stream, err)
	}
	stored, err := scanEvents(rows)
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: find retried events: %w", stream, err)
	}
	if isRetry(stream, expected, ids, stored) {
		last := stored[len(stored)-1]
		return eventstore.AppendResult{Revision: last.Revision, Position: last.Position, Retried: true}, nil
	}
	if len(stored) == 0 && refused {
		return eventstore.AppendResult{}, wrongRevision(stream, expected, curRev)
	}
	if err := q.QueryRow(ctx, `SELECT max(revision) FROM eventstore_events WHERE stream = $1`,
		stream).Scan(&curRev); err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	if !expected.Accepts(uint64(ptrOr(curRev, 0)), curRev != nil) {
		return eventstore.AppendResult{}, wrongRevision(stream, expected, curRev)
	}
	return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, eventstore.ErrDuplicateEventID)
}

func isRetry(stream string, expected eventstore.ExpectedRevision, ids [][16]byte, stored []eventstore.RecordedEvent) bool {
	if len(stored) != len(ids) {
		return false
	}
	first := stored[0].Revision
	for i, e := range stored {
		if e.Stream != stream || e.ID != uuid.UUID(ids[i]) || e.Revision != first+uint64(i) {
			return false
		}
	}
	return expected.Accepts(first-1, first > 0)
}

func ptrOr(p *int64, def int64) int64 {
	if p == nil {
		return def
	}
	return *p
}
