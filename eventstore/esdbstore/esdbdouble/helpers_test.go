package esdbdouble

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"
)

// start runs a double and a real client connected to it for one test.
func start(t *testing.T) *esdb.Client {
	t.Helper()
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	conf, err := esdb.ParseConnectionString(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func jsonEvent(typ string, n int) esdb.EventData {
	return esdb.EventData{
		EventID:     uuid.New(),
		EventType:   typ,
		ContentType: esdb.ContentTypeJson,
		Data:        []byte(fmt.Sprintf(`{"n":%d}`, n)),
		Metadata:    []byte(`{"m":true}`),
	}
}

func events(typ string, n int) []esdb.EventData {
	out := make([]esdb.EventData, n)
	for i := range out {
		out[i] = jsonEvent(typ, i)
	}
	return out
}

func appendEvents(t *testing.T, c *esdb.Client, stream string, expected esdb.ExpectedRevision, evs ...esdb.EventData) *esdb.WriteResult {
	t.Helper()
	res, err := c.AppendToStream(testContext(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: expected}, evs...)
	if err != nil {
		t.Fatalf("append %s: %v", stream, err)
	}
	return res
}

// drain reads a bounded read to its end.
func drain(rs *esdb.ReadStream) ([]*esdb.ResolvedEvent, error) {
	defer rs.Close()
	var out []*esdb.ResolvedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func readStream(t *testing.T, c *esdb.Client, stream string, opts esdb.ReadStreamOptions, count uint64) ([]*esdb.ResolvedEvent, error) {
	t.Helper()
	rs, err := c.ReadStream(testContext(t), stream, opts, count)
	if err != nil {
		t.Fatalf("read %s: %v", stream, err)
	}
	return drain(rs)
}

func readAll(t *testing.T, c *esdb.Client, opts esdb.ReadAllOptions, count uint64) []*esdb.ResolvedEvent {
	t.Helper()
	rs, err := c.ReadAll(testContext(t), opts, count)
	if err != nil {
		t.Fatalf("read $all: %v", err)
	}
	evs, err := drain(rs)
	if err != nil {
		t.Fatalf("read $all: %v", err)
	}
	return evs
}

func errorCode(err error) (esdb.ErrorCode, bool) {
	var e *esdb.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	return e.Code(), true
}

func revisions(evs []*esdb.ResolvedEvent) []uint64 {
	out := make([]uint64, len(evs))
	for i, e := range evs {
		out[i] = e.Event.EventNumber
	}
	return out
}
