package esdbdouble

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// sized makes n events whose sizes as the server counts them (data,
// metadata, two bytes per character of the type) add up to total.
func sized(n, total int) []esdb.EventData {
	out := make([]esdb.EventData, n)
	const typ, md = "Sized", `{"m":1}`
	pad := total - n*(len(md)+2*len(typ))
	for i := range out {
		share := pad / n
		if i < pad%n {
			share++
		}
		out[i] = esdb.EventData{EventID: uuid.New(), EventType: typ, ContentType: esdb.ContentTypeJson,
			Data: bytes.Repeat([]byte("x"), share), Metadata: []byte(md)}
	}
	return out
}

func TestAppendUpToTheMaximumSizeIsAccepted(t *testing.T) {
	c := start(t)
	for _, n := range []int{1, 4, 2000} {
		stream := fmt.Sprintf("max-%d", n)
		appendEvents(t, c, stream, esdb.NoStream{}, sized(n, DefaultMaxAppendSize)...)
		evs, err := readStream(t, c, stream, esdb.ReadStreamOptions{From: esdb.Start{}}, uint64(n+1))
		if err != nil || len(evs) != n {
			t.Fatalf("%s: read %d events, %v; want %d", stream, len(evs), err, n)
		}
	}
}

func TestAppendOverTheMaximumSizeIsRefusedAndWritesNothing(t *testing.T) {
	c := start(t)
	for _, tc := range []struct {
		name string
		n    int
	}{{"one event", 1}, {"metadata counts", 4}, {"many events", 10000}} {
		t.Run(tc.name, func(t *testing.T) {
			stream := "over-" + strings.ReplaceAll(tc.name, " ", "-")
			_, err := c.AppendToStream(testContext(t), stream, esdb.AppendToStreamOptions{ExpectedRevision: esdb.Any{}},
				sized(tc.n, DefaultMaxAppendSize+1)...)
			if err == nil {
				t.Fatal("append over the maximum size succeeded")
			}
			// The v4 client knows no code for the refusal: it is Unknown,
			// carrying the server's status or, when the server ended the
			// call while the client was still sending, just EOF.
			if code, ok := errorCode(err); !ok || code != esdb.ErrorCodeUnknown {
				t.Fatalf("err = %v, want an *esdb.Error with ErrorCodeUnknown", err)
			}
			_, err = readStream(t, c, stream, esdb.ReadStreamOptions{From: esdb.Start{}}, 10)
			if code, ok := errorCode(err); !ok || code != esdb.ErrorCodeResourceNotFound {
				t.Fatalf("read after the refusal: %v, want stream not found", err)
			}
		})
	}
}

// TestOversizeRefusalOnTheWire checks the refusal as the server sends it:
// InvalidArgument, its message, and the exception trailers. A small limit
// lets the whole request reach the server before it answers.
func TestOversizeRefusalOnTheWire(t *testing.T) {
	srv, err := StartWith(Options{MaxAppendSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(strings.TrimSuffix(strings.TrimPrefix(srv.URL(), "esdb://"), "?tls=false"),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var trailer metadata.MD
	call, err := api.NewStreamsClient(conn).Append(ctx, grpc.Trailer(&trailer))
	if err != nil {
		t.Fatal(err)
	}
	send := func(m *api.AppendReq) {
		if err := call.Send(m); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	send(&api.AppendReq{Content: &api.AppendReq_Options_{Options: &api.AppendReq_Options{
		StreamIdentifier:       &shared.StreamIdentifier{StreamName: []byte("wire")},
		ExpectedStreamRevision: &api.AppendReq_Options_Any{Any: &shared.Empty{}},
	}}})
	// 40 + 2*5 + 2 = 52 bytes each: the second one passes 100.
	for range 3 {
		send(&api.AppendReq{Content: &api.AppendReq_ProposedMessage_{ProposedMessage: &api.AppendReq_ProposedMessage{
			Id:             uuidToProto(uuid.New(), true),
			Metadata:       map[string]string{metaType: "Sized", metaContentType: "application/json"},
			CustomMetadata: []byte("{}"),
			Data:           bytes.Repeat([]byte("x"), 40),
		}}})
	}
	_, err = call.CloseAndRecv()
	st, _ := status.FromError(err)
	if st.Code() != codes.InvalidArgument || st.Message() != "Maximum Append Size of 100 Exceeded." {
		t.Fatalf("status = %v %q, want InvalidArgument \"Maximum Append Size of 100 Exceeded.\"", st.Code(), st.Message())
	}
	if got := trailer.Get("exception"); len(got) != 1 || got[0] != "maximum-append-size-exceeded" {
		t.Errorf("exception trailer = %q", got)
	}
	if got := trailer.Get("maximum-append-size"); len(got) != 1 || got[0] != "100" {
		t.Errorf("maximum-append-size trailer = %q", got)
	}
}
