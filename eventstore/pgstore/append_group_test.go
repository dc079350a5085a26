package pgstore

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/storetest"
	"github.com/cardledger/cardledger/internal/testpg"
)

// inOneGroup runs appends concurrently so that they make one group: the
// grouper is held busy until all of them are queued, then the first
// queued leads them all.
func inOneGroup(t *testing.T, s *Store, appends ...func()) {
	t.Helper()
	s.group.mu.Lock()
	s.group.busy = true
	s.group.mu.Unlock()
	var wg sync.WaitGroup
	for _, f := range appends {
		wg.Add(1)
		go func() { defer wg.Done(); f() }()
	}
	require.Eventually(t, func() bool {
		s.group.mu.Lock()
		defer s.group.mu.Unlock()
		return len(s.group.queue) == len(appends)
	}, 10*time.Second, time.Millisecond)
	s.group.handOff()
	wg.Wait()
}

// requireStoredAs checks that res is what the table holds as stream's last
// event, written now (not Retried).
func requireStoredAs(t *testing.T, s *Store, stream string, res eventstore.AppendResult, n int) {
	t.Helper()
	stored, err := s.readStream(t.Context(), stream, 0, 0) // the table, not the cache
	require.NoError(t, err)
	require.Len(t, stored, n, stream)
	last := stored[len(stored)-1]
	assert.Equal(t, eventstore.AppendResult{Revision: last.Revision, Position: last.Position}, res, stream)
}

// Many writers appending to many streams as commands do: their appends
// share statements, and each writer's answer is what the table holds, in
// one chain per stream.
func TestConcurrentAppendsShareGroupStatements(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, testpg.NewDatabase(t)+"&pool_max_conns=16")
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })

	const writers, each = 32, 8
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		failures []error
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stream := fmt.Sprintf("card-%d", w)
			fail := func(err error) {
				mu.Lock()
				failures = append(failures, fmt.Errorf("%s: %w", stream, err))
				mu.Unlock()
			}
			res, err := s.Append(ctx, stream, eventstore.NoStream(), []eventstore.EventData{event("Start")})
			if err != nil {
				fail(err)
				return
			}
			requireStoredAs(t, s, stream, res, 1)
			for i := range each {
				res, err := readThenAppend(ctx, s, stream, event(fmt.Sprintf("E%d", i)), event(fmt.Sprintf("F%d", i)))
				if err != nil || res.Retried {
					fail(fmt.Errorf("append %d: %+v, %w", i, res, err))
					return
				}
				requireStoredAs(t, s, stream, res, 3+2*i)
			}
		}()
	}
	wg.Wait()
	require.Empty(t, failures)
	assert.Positive(t, s.group.statements.Load(), "group statements")
	assert.Zero(t, s.group.fallbacks.Load(), "groups run alone")
	for w := range writers {
		assert.Len(t, verifyChain(t, s, fmt.Sprintf("card-%d", w)), 1+2*each)
	}
}

// In one group, an append whose expectation fails gets its own
// WrongRevision while the others are written by the same statement.
func TestGroupWritesTheAppendsWhoseGuardHolds(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, testpg.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Append(ctx, "taken", eventstore.NoStream(), []eventstore.EventData{event("Start")})
	require.NoError(t, err)

	var resA, resC eventstore.AppendResult
	var errA, errB, errC error
	inOneGroup(t, s,
		func() {
			resA, errA = s.Append(ctx, "a", eventstore.NoStream(), []eventstore.EventData{event("A1"), event("A2")})
		},
		func() { _, errB = s.Append(ctx, "taken", eventstore.NoStream(), []eventstore.EventData{event("B")}) },
		func() { resC, errC = s.Append(ctx, "c", eventstore.NoStream(), []eventstore.EventData{event("C")}) },
	)
	require.NoError(t, errA)
	require.NoError(t, errC)
	var wrong *eventstore.WrongRevisionError
	require.ErrorAs(t, errB, &wrong)
	assert.Equal(t, eventstore.WrongRevisionError{Stream: "taken", Expected: eventstore.NoStream(), Actual: 0, ActualExists: true}, *wrong)
	assert.Equal(t, int64(1), s.group.statements.Load(), "group statements")
	assert.Zero(t, s.group.fallbacks.Load(), "groups run alone")
	requireStoredAs(t, s, "a", resA, 2)
	requireStoredAs(t, s, "c", resC, 1)
	assert.Equal(t, resA.Position.Commit, resC.Position.Commit, "one transaction")
	assert.Len(t, verifyChain(t, s, "taken"), 1)
	assert.Len(t, verifyChain(t, s, "a"), 2)
}

// A key row taken already fails the group's statement; its appends run
// alone, so the others are written with their rows and that one gets
// ErrRowConflict with nothing written.
func TestGroupWithATakenRowFallsBackToAppendsAlone(t *testing.T) {
	ctx := t.Context()
	url := testpg.NewDatabase(t)
	testpg.MustExec(t, url, storetest.RowTableDDL)
	testpg.MustExec(t, url, `INSERT INTO storetest_rows VALUES ('k2', 'earlier')`)
	s, err := Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	row := func(key string) eventstore.Row {
		return eventstore.Row{Table: storetest.RowTable, Columns: []string{"key", "note"}, Values: []any{key, "note " + key}}
	}

	var res1, res3 eventstore.AppendResult
	var w1, w2, w3 bool
	var err1, err2, err3 error
	inOneGroup(t, s,
		func() {
			res1, w1, err1 = s.AppendWithRow(ctx, "s1", eventstore.NoStream(), []eventstore.EventData{event("One")}, row("k1"))
		},
		func() {
			_, w2, err2 = s.AppendWithRow(ctx, "s2", eventstore.NoStream(), []eventstore.EventData{event("Two")}, row("k2"))
		},
		func() {
			res3, w3, err3 = s.AppendWithRow(ctx, "s3", eventstore.NoStream(), []eventstore.EventData{event("Three")}, row("k3"))
		},
	)
	require.NoError(t, err1)
	require.NoError(t, err3)
	assert.True(t, w1 && w3, "written")
	assert.True(t, errors.Is(err2, eventstore.ErrRowConflict), "s2: %v", err2)
	assert.False(t, w2, "s2 written")
	assert.Equal(t, int64(1), s.group.fallbacks.Load(), "groups run alone")
	requireStoredAs(t, s, "s1", res1, 1)
	requireStoredAs(t, s, "s3", res3, 1)
	_, err = s.ReadStream(ctx, "s2", 0, 0)
	assert.ErrorIs(t, err, eventstore.ErrStreamNotFound)
	var notes []string
	rows, err := s.pool.Query(ctx, `SELECT key || '=' || note FROM storetest_rows ORDER BY key`)
	require.NoError(t, err)
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		notes = append(notes, n)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"k1=note k1", "k2=earlier", "k3=note k3"}, notes)
}

// A group of appends with rows writes every row with its events in one
// statement.
func TestGroupWritesRowsWithTheirEvents(t *testing.T) {
	ctx := t.Context()
	url := testpg.NewDatabase(t)
	testpg.MustExec(t, url, storetest.RowTableDDL)
	s, err := Open(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Append(ctx, "taken", eventstore.NoStream(), []eventstore.EventData{event("Start")})
	require.NoError(t, err)
	row := func(key string) eventstore.Row {
		return eventstore.Row{Table: storetest.RowTable, Columns: []string{"key", "note"}, Values: []any{key, "note " + key}}
	}
	var res1 eventstore.AppendResult
	var w1, w2 bool
	var err1, err2 error
	inOneGroup(t, s,
		func() {
			res1, w1, err1 = s.AppendWithRow(ctx, "s1", eventstore.NoStream(), []eventstore.EventData{event("One")}, row("k1"))
		},
		func() {
			_, w2, err2 = s.AppendWithRow(ctx, "taken", eventstore.NoStream(), []eventstore.EventData{event("Two")}, row("k2"))
		},
	)
	require.NoError(t, err1)
	assert.True(t, w1)
	assert.ErrorIs(t, err2, eventstore.ErrWrongRevision)
	assert.False(t, w2)
	assert.Equal(t, int64(1), s.group.statements.Load(), "group statements")
	requireStoredAs(t, s, "s1", res1, 1)
	var keys []string
	rows, err := s.pool.Query(ctx, `SELECT key FROM storetest_rows ORDER BY key`)
	require.NoError(t, err)
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		keys = append(keys, k)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"k1"}, keys, "only the written append's row")
}

// A group whose append collides with another writer's uncommitted append
// at the same revision waits for it, fails on (stream, revision) when it
// commits, and its appends run alone: that one gets WrongRevision, the
// other is written, and the stream holds one chain.
func TestGroupCollidingWithAnotherWriterDoesNotFork(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, testpg.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	_, err = s.Append(ctx, "x", eventstore.NoStream(), []eventstore.EventData{event("Start")})
	require.NoError(t, err)
	_, err = s.ReadStream(ctx, "x", 0, 0) // cached: the next append to x is hashed
	require.NoError(t, err)

	tx, err := s.pool.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx)
	other := event("Other")
	_, _, err = appendOnce(ctx, tx, nil, nil, nil, "x", eventstore.Exact(0), []eventstore.EventData{other})
	require.NoError(t, err)

	var resZ eventstore.AppendResult
	var errX, errZ error
	done := make(chan struct{})
	go func() {
		defer close(done)
		inOneGroup(t, s,
			func() { _, errX = s.Append(ctx, "x", eventstore.Exact(0), []eventstore.EventData{event("Mine")}) },
			func() { resZ, errZ = s.Append(ctx, "z", eventstore.NoStream(), []eventstore.EventData{event("Z")}) },
		)
	}()
	require.Eventually(t, func() bool { // the group waits for the transaction
		var waiting bool
		require.NoError(t, s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting))
		return waiting
	}, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, tx.Commit(ctx))
	<-done

	var wrong *eventstore.WrongRevisionError
	require.ErrorAs(t, errX, &wrong)
	assert.Equal(t, eventstore.WrongRevisionError{Stream: "x", Expected: eventstore.Exact(0), Actual: 1, ActualExists: true}, *wrong)
	require.NoError(t, errZ)
	requireStoredAs(t, s, "z", resZ, 1)
	assert.Equal(t, int64(1), s.group.fallbacks.Load(), "groups run alone")
	events := verifyChain(t, s, "x")
	require.Len(t, events, 2)
	assert.Equal(t, other.ID, events[1].ID)
}
