package esdbstore

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/esdbstore/esdbdouble"
	"github.com/cardledger/cardledger/eventstore/storetest"
)

// TestConformanceDouble runs the suite against a fresh double per case, so
// "head of empty store" runs too.
func TestConformanceDouble(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return openDouble(t, startDouble(t))
	})
}

// TestConformanceRealESDB runs the same suite against a real server. Its
// cases use unique stream names, so the server need not be empty.
func TestConformanceRealESDB(t *testing.T) {
	url := os.Getenv("CARDLEDGER_TEST_ESDB_URL")
	if url == "" {
		t.Skip("CARDLEDGER_TEST_ESDB_URL not set: no EventStoreDB server can be installed on this machine")
	}
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		return openURL(t, url)
	})
}

func startDouble(t testing.TB) *esdbdouble.Server {
	t.Helper()
	srv, err := esdbdouble.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func openDouble(t testing.TB, srv *esdbdouble.Server) *Store {
	t.Helper()
	return openURL(t, srv.URL())
}

func openURL(t testing.TB, url string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
