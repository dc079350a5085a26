package pgstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"
)

// Group commit of hashed appends (appendHashedSQL's path: the event to
// chain to is known). Concurrent appends of one Store join a group: when
// no append statement of the Store's groups is in flight an append runs at
// once, alone, as appendHashedSQL (no added latency when quiet); while one
// is in flight, appends queue, and when it ends the first queued one leads
// the next group: everything queued with the same row shape, at most
// groupMax appends and one per stream (a second append to a stream waits
// for the next group, as its guard could not hold in this one). No timers:
// a group is whatever came while the previous one ran.
//
// A group of two or more is one statement (groupSQL), so one commit and one
// WAL flush for all its appends. Each append keeps its own guard: it is
// inserted only if, in the statement's snapshot, its stream's last row is
// at its previous revision with its previous hash, and none of its ids is
// stored; the others of the group are inserted regardless. Two appends
// after the same row in different groups (or processes) still collide on
// (stream, revision), so the chain cannot fork. Any error of the statement
// (a unique violation: another writer took a revision, a key row is taken;
// a deadlock with another process's group) fails the whole group, and then
// every append of it runs alone through appendHashedSQL, whose answer is
// exact per append. An append whose guard fails gets the answer it would
// get alone (appendRow.outcome, or stale).
//
// The group's statement runs without its leader's cancellation: it carries
// others' appends too, and a queued append waits for its group's answer
// rather than its own context (a statement's time, bounded by the pool).
type grouper struct {
	mu         sync.Mutex
	busy       bool // a statement of the groups is in flight
	queue      []*groupAppend
	statements atomic.Int64 // group statements run (of two or more appends); tests read it
	fallbacks  atomic.Int64 // groups whose statement failed, their appends run alone
	shapes     sync.Map     // row shape → groupTexts
}

// groupMax bounds a group's appends.
const groupMax = 64

// groupAppend is one append in a group and, once the group ran, its answer.
type groupAppend struct {
	stream string
	events []eventstore.EventData
	prev   prevLink
	hashes [][]byte
	row    *rowStep
	shape  string              // row's table and columns; "" without a row
	args   []any               // appendHashedSQL's arguments, for running alone
	wake   chan []*groupAppend // nil: answered; else a group for this append to lead

	r     appendRow
	stale bool
	err   error
	alone bool // the group's statement failed: run appendHashedSQL alone
}

// append runs a's statement in a group and answers as appendHashedSQL's row.
func (g *grouper) append(ctx context.Context, q querier, a *groupAppend) (appendRow, bool, error) {
	a.wake = make(chan []*groupAppend, 1)
	g.mu.Lock()
	var group []*groupAppend
	if g.busy {
		g.queue = append(g.queue, a)
		g.mu.Unlock()
		if group = <-a.wake; group == nil {
			return g.answer(ctx, q, a)
		}
	} else {
		g.busy = true
		g.mu.Unlock()
		group = []*groupAppend{a}
	}
	g.run(ctx, q, group)
	g.handOff()
	return g.answer(ctx, q, a)
}

// answer is a's answer, running it alone if its group failed.
func (g *grouper) answer(ctx context.Context, q querier, a *groupAppend) (appendRow, bool, error) {
	if a.alone {
		return hashedQuery(ctx, q, a.row, a.args)
	}
	return a.r, a.stale, a.err
}

// handOff gives the lead of the next group to its first append, or ends
// the busy spell when nothing is queued.
func (g *grouper) handOff() {
	g.mu.Lock()
	if len(g.queue) == 0 {
		g.busy = false
		g.mu.Unlock()
		return
	}
	group, rest := takeGroup(g.queue)
	g.queue = rest
	g.mu.Unlock()
	group[0].wake <- group
}

// takeGroup takes from queue, in order, the appends that can share the
// first one's statement: same row shape, one per stream, at most groupMax.
func takeGroup(queue []*groupAppend) (group, rest []*groupAppend) {
	streams := map[string]bool{}
	for _, a := range queue {
		if len(group) < groupMax && a.shape == queue[0].shape && !streams[a.stream] {
			streams[a.stream] = true
			group = append(group, a)
		} else {
			rest = append(rest, a)
		}
	}
	return group, rest
}

// run runs group's statement and sets every answer, waking all but the
// leader (group[0], which is running it).
func (g *grouper) run(ctx context.Context, q querier, group []*groupAppend) {
	if len(group) == 1 {
		a := group[0]
		a.r, a.stale, a.err = hashedQuery(ctx, q, a.row, a.args)
	} else if err := g.runGroup(context.WithoutCancel(ctx), q, group); err != nil {
		g.fallbacks.Add(1)
		for _, a := range group {
			a.alone = true
		}
	}
	for _, a := range group[1:] {
		a.wake <- nil
	}
}

// groupTexts is the group statement for one row shape, and the row
// columns' SQL types its arrays are cast to.
type groupTexts struct {
	sql string
}

// runGroup runs groupSQL for group and sets each append's answer.
func (g *grouper) runGroup(ctx context.Context, q querier, group []*groupAppend) error {
	texts, err := g.texts(ctx, q, group[0].row, group[0].shape)
	if err != nil {
		return err
	}
	// Inserted in stream order, as AppendMany inserts, so that writers of
	// other processes sharing streams with this group wait for each other
	// instead of deadlocking (index locks taken in one order).
	group = slices.Clone(group)
	slices.SortFunc(group, func(a, b *groupAppend) int { return cmp.Compare(a.stream, b.stream) })
	n := len(group)
	streams := make([]string, n)
	prevRevs := make([]*int64, n)
	prevHashes := make([][]byte, n)
	var idx, ords []int64
	var ids [][16]byte
	var types []string
	var data, metadata, hashes [][]byte
	var rowCols [][]any
	if r := group[0].row; r != nil {
		rowCols = make([][]any, len(r.values))
	}
	for i, a := range group {
		streams[i], prevRevs[i], prevHashes[i] = a.stream, a.prev.rev, a.prev.hash
		for j, e := range a.events {
			idx = append(idx, int64(i+1))
			ords = append(ords, int64(j+1))
			ids = append(ids, e.ID)
			types = append(types, e.Type)
			data = append(data, e.Data)
			metadata = append(metadata, e.Metadata)
			hashes = append(hashes, a.hashes[j])
		}
		for c := range rowCols {
			rowCols[c] = append(rowCols[c], a.row.values[c])
		}
	}
	args := []any{streams, prevRevs, prevHashes, idx, ords, ids, types, data, metadata, hashes}
	for _, c := range rowCols {
		args = append(args, c)
	}
	b := &pgx.Batch{}
	b.Queue(noSeqScanSQL)
	b.Queue(texts.sql, args...)
	br := q.SendBatch(ctx, b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return err
	}
	rows, err := br.Query()
	if err != nil {
		return err
	}
	seen := 0
	for rows.Next() {
		var i int
		var r appendRow
		var stale bool
		if err := rows.Scan(&i, &r.curRev, &r.lastRev, &r.lastXID, &r.lastSeq, &stale); err != nil {
			rows.Close()
			return err
		}
		if i < 1 || i > n {
			rows.Close()
			return fmt.Errorf("group answer for append %d of %d", i, n)
		}
		group[i-1].r, group[i-1].stale = r, stale
		seen++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if seen != n {
		return fmt.Errorf("group answered %d of %d appends", seen, n)
	}
	if err := br.Close(); err != nil {
		return err
	}
	g.statements.Add(1)
	return nil
}

// noSeqScanSQL keeps groupSQL on its indexes whatever the table's
// statistics say (a young table's generic plan would scan it for the id
// probe; see genericPlanSQL).
const noSeqScanSQL = `SELECT set_config('enable_seqscan', 'off', true)`

// texts returns the group statement for a row shape, building it (and
// looking the row columns' types up) once.
func (g *grouper) texts(ctx context.Context, q querier, row *rowStep, shape string) (groupTexts, error) {
	if t, ok := g.shapes.Load(shape); ok {
		return t.(groupTexts), nil
	}
	rowStep := ""
	if row != nil {
		table, columns, _ := strings.Cut(shape, "\x00")
		cols := strings.Split(columns, "\x00")
		quoted := make([]string, len(cols))
		arrays := make([]string, len(cols))
		aliases := make([]string, len(cols))
		for i, c := range cols {
			var typ string
			if err := q.QueryRow(ctx, `SELECT format_type(atttypid, atttypmod) FROM pg_attribute
				WHERE attrelid = $1::regclass AND attname = $2 AND NOT attisdropped`,
				pgx.Identifier(strings.Split(table, ".")).Sanitize(), c).Scan(&typ); err != nil {
				return groupTexts{}, fmt.Errorf("type of %s.%s: %w", table, c, err)
			}
			quoted[i] = pgx.Identifier{c}.Sanitize()
			arrays[i] = "$" + strconv.Itoa(groupParams+1+i) + "::" + typ + "[]"
			aliases[i] = "v" + strconv.Itoa(i+1)
		}
		rowStep = `, row_ins AS (
	INSERT INTO ` + pgx.Identifier(strings.Split(table, ".")).Sanitize() + ` (` + strings.Join(quoted, ", ") + `)
	SELECT ` + strings.Join(prefixed("r.", aliases), ", ") + `
	FROM unnest(` + strings.Join(arrays, ", ") + `) WITH ORDINALITY AS r(` + strings.Join(aliases, ", ") + `, i)
	JOIN a ON a.i = r.i JOIN last ON last.stream = a.stream
)`
	}
	t := groupTexts{sql: groupCTEs + rowStep + groupAnswer}
	g.shapes.Store(shape, t)
	return t, nil
}

func prefixed(p string, s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = p + v
	}
	return out
}

// groupCTEs and groupAnswer make a group's statement: appendHashedSQL for
// several streams at once. Parameters: $1 the streams, $2 their previous
// revisions and $3 previous hashes (NULL: no stream), one per append; then
// one per event: $4 its append's index (from 1), $5 its place in the
// append (from 1), $6..$9 id, type, data, metadata, $10 its chain hash. A
// row's columns follow as arrays, one value per append.
const groupCTEs = `
WITH a AS (
	SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[]) WITH ORDINALITY AS a(stream, prev_rev, prev_hash, i)
), cur AS (
	SELECT a.i, last.rev, last.hash FROM a LEFT JOIN LATERAL (
		SELECT revision AS rev, hash FROM eventstore_events
		WHERE stream = a.stream ORDER BY revision DESC LIMIT 1
	) last ON true
), e AS (
	SELECT * FROM unnest($4::bigint[], $5::bigint[], $6::uuid[], $7::text[], $8::bytea[], $9::bytea[], $10::bytea[])
		AS e(i, ord, id, type, data, metadata, hash)
), dup AS (
	SELECT DISTINCT e.i FROM e JOIN eventstore_events s ON s.id = e.id
), ok AS (
	SELECT a.i, a.stream, a.prev_rev FROM a JOIN cur ON cur.i = a.i
	WHERE cur.rev IS NOT DISTINCT FROM a.prev_rev AND cur.hash IS NOT DISTINCT FROM a.prev_hash
		AND NOT EXISTS (SELECT FROM dup WHERE dup.i = a.i)
), ins AS (
	INSERT INTO eventstore_events (stream, revision, id, type, data, metadata, hash)
	SELECT ok.stream, coalesce(ok.prev_rev, -1) + e.ord, e.id, e.type,
		coalesce(e.data, ''), coalesce(e.metadata, ''), e.hash
	FROM e JOIN ok ON ok.i = e.i
	ORDER BY e.i, e.ord
	RETURNING stream, revision, xid, seq
), last AS (
	SELECT DISTINCT ON (stream) stream, revision, xid, seq FROM ins ORDER BY stream, seq DESC
)`

const groupAnswer = `
SELECT a.i, cur.rev, last.revision, last.xid, last.seq,
	cur.rev IS NOT DISTINCT FROM a.prev_rev AND cur.hash IS DISTINCT FROM a.prev_hash AS stale
FROM a JOIN cur ON cur.i = a.i LEFT JOIN last ON last.stream = a.stream
ORDER BY a.i`

// groupParams is how many parameters groupCTEs takes ($1 to $10).
const groupParams = 10
