package esdbstore

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/esdbstore/esdbdouble"
	"github.com/cardledger/cardledger/internal/netcut"
)

// While the server cannot be reached the adapter's errors wrap
// eventstore.ErrUnavailable (the HTTP layer answers 503 for them, not 500),
// and once it can again the same Store serves, although the outage outlasted
// the client's own retries.
func TestUnreachableServerIsUnavailable(t *testing.T) {
	srv, err := esdbdouble.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := netcut.New(t, u.Host)
	u.Host = proxy.Addr
	ctx := testCtx(t)
	s, err := Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Append(ctx, "s", eventstore.NoStream(), newEvents(1)); err != nil {
		t.Fatal(err)
	}

	proxy.Cut()
	s.retryFor = 300 * time.Millisecond
	_, err = s.Append(ctx, "s", eventstore.Any(), newEvents(1))
	if !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("append while cut: %v, want ErrUnavailable", err)
	}
	_, err = s.ReadStream(ctx, "s", 0, 10)
	if !errors.Is(err, eventstore.ErrUnavailable) {
		t.Fatalf("read while cut: %v, want ErrUnavailable", err)
	}

	time.Sleep(giveUp)
	if err := proxy.Restore(); err != nil {
		t.Fatal(err)
	}
	s.retryFor = defaultRetryFor
	if _, err := s.Append(ctx, "s", eventstore.Exact(0), newEvents(1)); err != nil {
		t.Fatalf("append after the network came back: %v", err)
	}
	if clients(s) == 1 {
		t.Fatal("the client was never replaced: the cut did not outlast the client's retries")
	}
}
