package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cardledger/cardledger/eventstore"
)

func TestClientErrorOfNilIsNoError(t *testing.T) {
	// esdb.FromError(nil) says (nil, true); the wrapper says "no error".
	if e, ok := clientError(nil); ok || e != nil {
		t.Fatalf("clientError(nil) = %v, %v; want nil, false", e, ok)
	}
}

func TestClientErrorOfForeignErrorIsUnknown(t *testing.T) {
	plain := errors.New("boom")
	e, ok := clientError(plain)
	if !ok || e.Code() != esdb.ErrorCodeUnknown || !errors.Is(e, plain) {
		t.Fatalf("clientError(plain) = %v, %v; want unknown code wrapping it", e, ok)
	}
}

func TestClientErrorFindsWrappedClientError(t *testing.T) {
	// A real client error, from reading a stream that does not exist.
	c := rawClient(t, startDouble(t))
	rs, err := c.ReadStream(context.Background(), "missing", esdb.ReadStreamOptions{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rs.Recv()
	rs.Close()
	wrapped := fmt.Errorf("context: %w", err)
	if _, ok := esdb.FromError(wrapped); ok {
		t.Fatal("esdb.FromError no longer ignores wrapping; revisit clientError")
	}
	e, ok := clientError(wrapped)
	if !ok || e.Code() != esdb.ErrorCodeResourceNotFound {
		t.Fatalf("clientError(wrapped) = %v, %v; want ErrorCodeResourceNotFound", e, ok)
	}
	if !hasCode(wrapped, esdb.ErrorCodeResourceNotFound) || hasCode(wrapped, esdb.ErrorCodeStreamDeleted) {
		t.Fatal("hasCode disagrees with clientError")
	}
}

func TestActualRevisionFromClientMessage(t *testing.T) {
	cases := []struct {
		msg           string
		rev           uint64
		exists, parse bool
	}{
		{"wrong expected version: expecting '0' but got '3'", 3, true, true},
		{"wrong expected version: expecting 'no_stream' but got '18446744073709551614'", 18446744073709551614, true, true},
		{"wrong expected version: expecting 'stream_exists' but got 'no_stream'", 0, false, true},
		{"wrong expected version: expecting '0' but got '-1'", 0, false, true},
		{"something else", 0, false, false},
	}
	for _, tc := range cases {
		rev, exists, ok := actualRevision(errors.New(tc.msg))
		if rev != tc.rev || exists != tc.exists || ok != tc.parse {
			t.Errorf("actualRevision(%q) = %d, %v, %v; want %d, %v, %v", tc.msg, rev, exists, ok, tc.rev, tc.exists, tc.parse)
		}
	}
}

func TestCancelledContextIsReportedAsSuch(t *testing.T) {
	s := openDouble(t, startDouble(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Append(ctx, "s", eventstore.Any(), newEvents(1))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Append with cancelled context: %v, want context.Canceled", err)
	}
	_, err = s.ReadStream(ctx, "s", 0, 0)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ReadStream with cancelled context: %v, want context.Canceled", err)
	}
}
