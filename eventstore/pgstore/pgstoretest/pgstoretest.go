// Package pgstoretest gives tests of other packages a PostgreSQL event store
// on a fresh database of their own (see internal/testpg), closed and dropped
// when the test ends.
package pgstoretest

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore"
	"github.com/cardledger/cardledger/internal/testpg"
)

// OpenTest returns a migrated store on a new, empty database.
func OpenTest(t testing.TB) *pgstore.Store {
	t.Helper()
	return OpenURL(t, testpg.NewDatabase(t))
}

// OpenURL opens a store on the database at url (for tests that also need
// the database themselves) and closes it when t ends.
func OpenURL(t testing.TB, url string) *pgstore.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatalf("pgstoretest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// CommittedHead is the position of the newest committed event in the
// PostgreSQL event store of pool, read from the table itself. $all's Head
// trails commits while an older transaction of the cluster runs (see
// pgstore's visibility.go), so a test that waits for Head can see the wait
// end before its own last event was applied; waiting for this position
// cannot.
func CommittedHead(t testing.TB, pool *pgxpool.Pool) eventstore.Position {
	t.Helper()
	var p eventstore.Position
	if err := pool.QueryRow(context.Background(), `SELECT xid::text::bigint, seq FROM eventstore_events
		ORDER BY xid DESC, seq DESC LIMIT 1`).Scan(&p.Commit, &p.Prepare); err != nil {
		t.Fatalf("pgstoretest: committed head: %v", err)
	}
	return p
}
