package esdbstore

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/esdbstore/esdbdouble"
)

// TestServerRefusalOfAnOversizeAppendIsTyped runs against a server whose
// MaxAppendSize is below the port's, so the server refuses what the
// adapter let through: the refusal must still be the port's typed error.
// The limit is crossed by the last event only, so the whole request is
// sent before the server answers and the client gets the status.
func TestServerRefusalOfAnOversizeAppendIsTyped(t *testing.T) {
	srv, err := esdbdouble.StartWith(esdbdouble.Options{MaxAppendSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	s := openDouble(t, srv)
	events := make([]eventstore.EventData, 2)
	for i := range events {
		events[i] = eventstore.EventData{ID: uuid.New(), Type: "Big", Data: append(append([]byte(`{"p":"`), bytes.Repeat([]byte("x"), 450)...), `"}`...)}
	}
	_, err = s.Append(testCtx(t), "big", eventstore.NoStream(), events)
	if !errors.Is(err, eventstore.ErrAppendTooLarge) {
		t.Fatalf("err = %v, want ErrAppendTooLarge", err)
	}
	var tl *eventstore.AppendTooLargeError
	if !errors.As(err, &tl) || *tl != (eventstore.AppendTooLargeError{Stream: "big", Max: 1000}) {
		t.Fatalf("err = %#v, want an *AppendTooLargeError naming the stream and the server's limit", err)
	}
	if _, err := s.ReadStream(testCtx(t), "big", 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("after the refusal: %v, want ErrStreamNotFound", err)
	}
}

// TestEnvelopeFitsTheEventOverhead: the chain envelope esdbstore adds to
// JSON metadata must stay within what the port counts per event, or the
// server would refuse appends the port allows.
func TestEnvelopeFitsTheEventOverhead(t *testing.T) {
	for _, md := range [][]byte{nil, []byte(`{}`), []byte(`{"event_id":"x","actor":{"client":"c"}}`)} {
		e := eventstore.EventData{ID: uuid.New(), Type: "T", Data: []byte(`{}`), Metadata: md}
		sent := chained("s", base{}, []eventstore.EventData{e})
		if got, port := wireSize(sent), eventstore.EventSize(e); got > port {
			t.Errorf("metadata %q: sent %d bytes, the port counts %d", md, got, port)
		}
	}
}
