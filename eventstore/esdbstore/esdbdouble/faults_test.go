package esdbdouble

import (
	"context"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/metadata"
)

func clientFor(t *testing.T, url string) *esdb.Client {
	t.Helper()
	conf, err := esdb.ParseConnectionString(url)
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

func startCluster3(t *testing.T) *Cluster {
	t.Helper()
	c, err := StartCluster(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// leaderCtx sends the header the v4 client means to send with
// nodePreference=leader but puts in the wrong context (see esdbstore).
func leaderCtx(t *testing.T) context.Context {
	return metadata.AppendToOutgoingContext(testContext(t), "requires-leader", "true")
}

// TestFollowerAnswersNotLeaderWithTheLeadersEndpoint: a request requiring
// the leader, sent to a follower, gets the not-leader exception naming the
// leader; the client reconnects there by itself, so a retry lands on the
// leader.
func TestFollowerAnswersNotLeaderWithTheLeadersEndpoint(t *testing.T) {
	c := startCluster3(t)
	cl := clientFor(t, c.Nodes[1].URL())
	_, err := cl.AppendToStream(leaderCtx(t), "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, events("E", 1)...)
	if code, _ := errorCode(err); code != esdb.ErrorCodeNotLeader {
		t.Fatalf("append to a follower: %v, want ErrorCodeNotLeader", err)
	}
	evs := events("E", 2)
	if _, err := cl.AppendToStream(leaderCtx(t), "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, evs...); err != nil {
		t.Fatalf("retry after not-leader: %v", err)
	}
	// The follower no longer sees the client: it went to the leader.
	c.Nodes[1].SetUnavailable(true)
	got, err := readStream(t, cl, "s", esdb.ReadStreamOptions{}, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("read through the reconnected client: %d events, %v", len(got), err)
	}
}

// TestFollowerServesRequestsThatDoNotRequireTheLeader: without the header
// a follower forwards writes and serves reads, as EventStoreDB does.
func TestFollowerServesRequestsThatDoNotRequireTheLeader(t *testing.T) {
	c := startCluster3(t)
	cl := clientFor(t, c.Nodes[2].URL())
	appendEvents(t, cl, "s", esdb.NoStream{}, events("E", 1)...)
	lead := clientFor(t, c.Nodes[0].URL())
	if got, err := readStream(t, lead, "s", esdb.ReadStreamOptions{}, 10); err != nil || len(got) != 1 {
		t.Fatalf("leader sees %d events, %v; want the forwarded one", len(got), err)
	}
}

func TestGossipLeadsTheClientToTheLeader(t *testing.T) {
	c := startCluster3(t)
	c.SetLeader(2)
	cl := clientFor(t, c.URL())
	appendEvents(t, cl, "s", esdb.NoStream{}, events("E", 1)...)
	// Only the leader may answer now; the client must be on it.
	c.Nodes[0].SetUnavailable(true)
	c.Nodes[1].SetUnavailable(true)
	if got, err := readStream(t, cl, "s", esdb.ReadStreamOptions{}, 10); err != nil || len(got) != 1 {
		t.Fatalf("read: %d events, %v", len(got), err)
	}
}

func TestUnavailableNodeAnswersUnavailable(t *testing.T) {
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	cl := clientFor(t, srv.URL())
	appendEvents(t, cl, "s", esdb.NoStream{}, events("E", 1)...)
	srv.SetUnavailable(true)
	_, err = cl.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{}, events("E", 1)...)
	if code, _ := errorCode(err); code != esdb.ErrorUnavailable {
		t.Fatalf("append while unavailable: %v, want ErrorUnavailable", err)
	}
	srv.SetUnavailable(false)
	appendEvents(t, cl, "s", esdb.StreamRevision{Value: 0}, events("E", 1)...)
}

// TestLostAppendReplyWroteTheEvents: the append lands although the client
// hears Unavailable; resending it with the same ids and revision is
// recognised and reports the original result.
func TestLostAppendReplyWroteTheEvents(t *testing.T) {
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	cl := clientFor(t, srv.URL())
	first := appendEvents(t, cl, "s", esdb.NoStream{}, events("E", 1)...)
	srv.LoseAppendReplies(1)
	evs := events("E", 2)
	_, err = cl.AppendToStream(testContext(t), "s", esdb.AppendToStreamOptions{ExpectedRevision: esdb.StreamRevision{Value: 0}}, evs...)
	if code, _ := errorCode(err); code != esdb.ErrorUnavailable {
		t.Fatalf("append with lost reply: %v, want ErrorUnavailable", err)
	}
	res := appendEvents(t, cl, "s", esdb.StreamRevision{Value: 0}, evs...)
	if res.NextExpectedVersion != 2 || res.CommitPosition <= first.CommitPosition {
		t.Fatalf("resend = %+v, want the original revision 2 and its position", res)
	}
	got, err := readStream(t, cl, "s", esdb.ReadStreamOptions{}, 10)
	if err != nil || len(got) != 3 {
		t.Fatalf("stream has %d events, %v; want 3 (written once)", len(got), err)
	}
}

// TestRestartKeepsTheLogAndThePort: a client that lived through the
// restart (within its discovery attempts) goes on.
func TestRestartKeepsTheLogAndThePort(t *testing.T) {
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	addr := srv.Addr()
	cl := clientFor(t, srv.URL())
	appendEvents(t, cl, "s", esdb.NoStream{}, events("E", 1)...)
	srv.Stop()
	srv.Stop() // twice is harmless
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	if srv.Addr() != addr {
		t.Fatalf("restarted on %s, want %s", srv.Addr(), addr)
	}
	var got []*esdb.ResolvedEvent
	for range 20 { // the first call after the restart may still hit the dead connection
		if got, err = readStream(t, cl, "s", esdb.ReadStreamOptions{}, 10); err == nil {
			break
		}
	}
	if err != nil || len(got) != 1 {
		t.Fatalf("after restart: %d events, %v", len(got), err)
	}
}
