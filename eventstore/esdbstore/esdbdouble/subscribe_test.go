package esdbdouble

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestSubscriptionDeliversEveryEventOnceAcrossCatchUp subscribes from the
// start while a writer keeps appending: history and live events must arrive
// each exactly once, in position order.
func TestSubscriptionDeliversEveryEventOnceAcrossCatchUp(t *testing.T) {
	c := start(t)
	const before, during = 100, 300
	for i := range before / 10 {
		appendEvents(t, c, fmt.Sprintf("pre-%d", i), esdb.NoStream{}, events("E", 10)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	writerDone := make(chan error, 1)
	go func() {
		for i := range during / 3 {
			if _, err := c.AppendToStream(ctx, fmt.Sprintf("live-%d", i), esdb.AppendToStreamOptions{ExpectedRevision: esdb.NoStream{}}, events("E", 3)...); err != nil {
				writerDone <- err
				return
			}
		}
		writerDone <- nil
	}()
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	seen := map[string]bool{}
	var last esdb.Position
	caughtUp := false
	for len(seen) < before+during {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			t.Fatalf("dropped after %d events: %v", len(seen), ev.SubscriptionDropped.Error)
		case ev.CaughtUp != nil:
			caughtUp = true
		case ev.EventAppeared != nil:
			e := ev.EventAppeared.Event
			key := e.EventID.String()
			if seen[key] {
				t.Fatalf("event %s %s@%d delivered twice", key, e.StreamID, e.EventNumber)
			}
			seen[key] = true
			if len(seen) > 1 && (e.Position.Commit <= last.Commit) {
				t.Fatalf("position %+v after %+v", e.Position, last)
			}
			last = e.Position
		}
	}
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	if !caughtUp {
		t.Fatal("no caught-up notice before the live events ended")
	}
}

func TestSubscriptionStartsAfterPosition(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.NoStream{}, events("E", 4)...)
	all := readAll(t, c, esdb.ReadAllOptions{}, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: all[1].Event.Position})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var got []uint64
	for len(got) < 2 {
		ev := sub.Recv()
		if ev.SubscriptionDropped != nil {
			t.Fatal(ev.SubscriptionDropped.Error)
		}
		if ev.EventAppeared != nil {
			got = append(got, ev.EventAppeared.Event.EventNumber)
		}
	}
	if fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("subscription from event 1's position delivered %v, want [2 3] (exclusive)", got)
	}
}

func TestSubscriptionFilterExcludesSystemEvents(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "a", esdb.NoStream{}, jsonEvent("E", 0))
	if _, err := c.TombstoneStream(testContext(t), "a", esdb.TombstoneStreamOptions{ExpectedRevision: esdb.Any{}}); err != nil {
		t.Fatal(err)
	}
	appendEvents(t, c, "b", esdb.NoStream{}, jsonEvent("E", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}, Filter: esdb.ExcludeSystemEventsFilter()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var got []string
	checkpoints := 0
	for len(got) < 2 || checkpoints == 0 {
		ev := sub.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			t.Fatal(ev.SubscriptionDropped.Error)
		case ev.CheckPointReached != nil:
			checkpoints++
		case ev.EventAppeared != nil:
			got = append(got, ev.EventAppeared.Event.StreamID+":"+ev.EventAppeared.Event.EventType)
		}
	}
	if fmt.Sprint(got) != "[a:E b:E]" {
		t.Fatalf("filtered subscription delivered %v, want [a:E b:E]", got)
	}
}

func TestStreamSubscription(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.NoStream{}, events("E", 3)...)
	appendEvents(t, c, "other", esdb.NoStream{}, events("E", 3)...)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := c.SubscribeToStream(ctx, "s", esdb.SubscribeToStreamOptions{From: esdb.Revision(0)})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	appendEvents(t, c, "s", esdb.Revision(2), jsonEvent("Live", 3))
	var got []uint64
	for len(got) < 3 {
		ev := sub.Recv()
		if ev.SubscriptionDropped != nil {
			t.Fatal(ev.SubscriptionDropped.Error)
		}
		if ev.EventAppeared != nil {
			got = append(got, ev.EventAppeared.Event.EventNumber)
		}
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("stream subscription after revision 0 delivered %v, want [1 2 3]", got)
	}
}

func TestServerVersion(t *testing.T) {
	c := start(t)
	appendEvents(t, c, "s", esdb.Any{}, jsonEvent("E", 0)) // connect
	v, err := c.GetServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if *v != (esdb.ServerVersion{Major: 24, Minor: 10, Patch: 0}) {
		t.Fatalf("server version = %+v, want 24.10.0", *v)
	}
}

func TestStopEndsSubscriptions(t *testing.T) {
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	conf, err := esdb.ParseConnectionString(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *esdb.SubscriptionEvent, 1)
	go func() {
		for {
			if ev := sub.Recv(); ev.SubscriptionDropped != nil {
				done <- ev
				return
			}
		}
	}()
	srv.Stop()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("subscription still open after Stop")
	}
}

func TestDropSubscriptionsEndsThemWithUnavailable(t *testing.T) {
	srv, err := Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	conf, err := esdb.ParseConnectionString(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	conf.Logger = esdb.NoopLogging()
	c, err := esdb.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub, err := c.SubscribeToAll(ctx, esdb.SubscribeToAllOptions{From: esdb.Start{}})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	for ev := sub.Recv(); ev.CaughtUp == nil; ev = sub.Recv() {
		if ev.SubscriptionDropped != nil {
			t.Fatal(ev.SubscriptionDropped.Error)
		}
	}
	srv.DropSubscriptions()
	ev := sub.Recv()
	if ev.SubscriptionDropped == nil || status.Code(ev.SubscriptionDropped.Error) != codes.Unavailable {
		t.Fatalf("after DropSubscriptions got %+v, want a drop with Unavailable", ev)
	}
	// The server itself is still up.
	if _, err := c.AppendToStream(ctx, "s", esdb.AppendToStreamOptions{}, jsonEvent("E", 0)); err != nil {
		t.Fatal(err)
	}
}
