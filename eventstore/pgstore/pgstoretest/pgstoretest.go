// Package pgstoretest gives tests of other packages a PostgreSQL event store
// on a fresh database of their own (see internal/testpg), closed and dropped
// when the test ends.
package pgstoretest

import (
	"context"
	"testing"
	"time"

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
