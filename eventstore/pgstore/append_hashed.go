package pgstore

import (
	"context"
	"fmt"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
)

// appendHashedCTEs and appendHashedResult make appendHashedSQL: appendSQL
// for when the caller already knows the stream's last event, so that the
// chain hashes are computed here (eventstore/chain) and sent as $6 instead
// of being computed row by row in a recursive CTE (the costliest part of
// appendSQL: ≈ 0.09 of its ≈ 0.21 ms).
//
// The statement inserts only if, in its own snapshot, the stream's last row
// is at revision $7 and holds exactly hash $8 (both NULL: the stream has no
// row). So every new hash chains to the hash that is really stored before
// it, whatever the cache said; and two appends after the same row still
// collide on (stream, revision) as with appendSQL, the later failing and
// rerunning: the chain cannot fork. Its answer is appendSQL's (cur_rev, dup
// count, last revision/xid/seq, so appendRow's outcome applies) plus stale:
// the row at $7 is there but its hash is not $8 (the cache outlived its
// database), and nothing was written.
//
// Unlike appendSQL it does not look the ids up first (its dup count is
// NULL: not looked at). This is the append of every command and every new
// stream, and the ids are almost never stored: the eventstore_events_id
// constraint finds one that is, for nothing, and appendHashed tells its
// violation apart by name from the (stream, revision) one and asks
// findRetried; an append refused by its expectation asks findRetried too
// (a retry after the stream moved on), on that rarer path only. The probe
// also cost more than its index lookup on a young table: a generic plan
// built while the table is small scans the table for it, until an ANALYZE
// replaces the plan (a fresh database's first minutes; appendSQL keeps it).
//
// Parameters: $1 stream, $2..$5 the event arrays as for appendSQL, $6 the
// new events' hashes (bytea[]), $7 the revision of the stream's last event
// (NULL: no stream), $8 its hash (NULL: no stream).
//
// rowStep adds a row's insert to it as to appendSQL (append_row.go), its
// parameters numbered from $9.
const appendHashedCTEs = `
WITH ` + curStep + `, ins AS (
	INSERT INTO eventstore_events (stream, revision, id, type, data, metadata, hash)
	SELECT $1, coalesce($7::bigint, -1) + e.ord, e.id, e.type,
		coalesce(e.data, ''), coalesce(e.metadata, ''), e.hash
	FROM cur, unnest($2::uuid[], $3::text[], $4::bytea[], $5::bytea[], $6::bytea[])
		WITH ORDINALITY AS e(id, type, data, metadata, hash, ord)
	WHERE cur.rev IS NOT DISTINCT FROM $7::bigint AND cur.hash IS NOT DISTINCT FROM $8::bytea
	ORDER BY e.ord
	RETURNING revision, xid, seq
), last AS (
	SELECT revision, xid, seq FROM ins ORDER BY seq DESC LIMIT 1
)`

const appendHashedResult = `
SELECT cur.rev, NULL::bigint, last.revision, last.xid, last.seq,
	cur.rev IS NOT DISTINCT FROM $7::bigint AND cur.hash IS DISTINCT FROM $8::bytea AS stale
FROM cur LEFT JOIN last ON true`

const appendHashedSQL = appendHashedCTEs + appendHashedResult

// appendHashedParams is how many parameters appendHashedSQL takes ($1 to $8).
const appendHashedParams = 8

// prevLink is the stream's last event as an append expects to find it.
type prevLink struct {
	rev  *int64 // nil: no stream
	hash []byte // nil: no stream
}

// knownPrev returns the event an append must chain to when it is known
// without asking the table: none for NoStream, and for Exact(rev) the
// cached event at rev or the head this process appended last
// (streamCache.prevHash). ok is false otherwise (Any, StreamExists, nothing
// cached), and the append computes the chain in SQL (appendSQL).
func knownPrev(cache *streamCache, stream string, expected eventstore.ExpectedRevision) (prev prevLink, ok bool) {
	if expected.IsNoStream() {
		return prevLink{}, true
	}
	rev, exact := expected.Revision()
	if !exact || cache == nil {
		return prevLink{}, false
	}
	hash, ok := cache.prevHash(stream, rev)
	if !ok || len(hash) == 0 {
		return prevLink{}, false
	}
	r := int64(rev)
	return prevLink{rev: &r, hash: hash}, true
}

// appendHashed runs appendHashedSQL, in a group of concurrent appends
// when g is not nil (append_group.go). stale reports that the stored event
// at prev's revision is not the one prev names; then nothing was written
// and the caller decides again without prev.
func appendHashed(ctx context.Context, q querier, g *grouper, row *rowStep, stream string, expected eventstore.ExpectedRevision,
	events []eventstore.EventData, prev prevLink, hashes [][]byte) (res eventstore.AppendResult, wrote, stale bool, err error) {
	args, ids := appendArgs(stream, expected, events)
	args = append(args[:5:5], hashes, prev.rev, prev.hash) // appendSQL's first five, then the chain
	if row != nil {
		args = append(args, row.values...)
	}
	var r appendRow
	if g != nil {
		shape := ""
		if row != nil {
			shape = row.shape
		}
		r, stale, err = g.append(ctx, q, &groupAppend{stream: stream, events: events, prev: prev, hashes: hashes,
			row: row, shape: shape, args: args})
	} else {
		r, stale, err = hashedQuery(ctx, q, row, args)
	}
	if isStoredID(err) {
		res, err = findRetried(ctx, q, stream, expected, ids, nil, false)
		return res, false, false, err
	}
	if err != nil {
		return eventstore.AppendResult{}, false, false, fmt.Errorf("append %s: %w", stream, err)
	}
	if stale {
		return eventstore.AppendResult{}, false, true, nil
	}
	res, err = r.outcome(ctx, q, stream, expected, ids)
	return res, err == nil && r.lastRev != nil, false, err
}

// hashedQuery runs appendHashedSQL (with row's step if not nil) alone.
func hashedQuery(ctx context.Context, q querier, row *rowStep, args []any) (r appendRow, stale bool, err error) {
	stmt := appendHashedSQL
	if row != nil {
		stmt = row.hashed
	}
	// No genericPlanSQL before it: this statement's generic plan costs less
	// than a custom one with its planning, so PostgreSQL settles on it by
	// itself after the first few custom plans of each connection, and the
	// append is one statement, not a batch of two.
	err = q.QueryRow(ctx, stmt, args...).Scan(&r.curRev, &r.dups, &r.lastRev, &r.lastXID, &r.lastSeq, &stale)
	return r, stale, err
}

// chainHashes are the hashes of events appended after prev, as
// eventstore_chain_hash would compute them from the stored rows.
func chainHashes(stream string, prev prevLink, events []eventstore.EventData) [][]byte {
	next := uint64(0)
	if prev.rev != nil {
		next = uint64(*prev.rev) + 1
	}
	hashes := make([][]byte, len(events))
	h := prev.hash
	for i, e := range events {
		h = chain.Hash(h, chain.Event{Stream: stream, Revision: next + uint64(i), ID: e.ID,
			Type: e.Type, Data: e.Data, Metadata: e.Metadata})
		hashes[i] = h
	}
	return hashes
}
