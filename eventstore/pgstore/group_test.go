package pgstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"
)

func request(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events ...eventstore.EventData) *appendRequest {
	return &appendRequest{ctx: ctx, stream: stream, expected: expected, events: events, done: make(chan appendAnswer, 1)}
}

// A group is one transaction whose appends keep their own outcomes: a
// wrong revision and a retry answer for themselves, the others commit
// together (one transaction id).
func TestGroupKeepsEachAppendsOutcome(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	first := event("First")
	original, err := s.Append(ctx, "retried", eventstore.NoStream(), []eventstore.EventData{first})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(ctx, "moved", eventstore.NoStream(), []eventstore.EventData{event("A"), event("B")}); err != nil {
		t.Fatal(err)
	}
	group := []*appendRequest{
		request(ctx, "new-1", eventstore.NoStream(), event("N1")),
		request(ctx, "moved", eventstore.Exact(0), event("Late")),
		request(ctx, "retried", eventstore.NoStream(), first),
		request(ctx, "new-2", eventstore.Any(), event("N2a"), event("N2b")),
	}
	s.writeGroup(group)
	answers := make([]appendAnswer, len(group))
	for i, r := range group {
		answers[i] = <-r.done
	}
	if answers[0].err != nil || answers[3].err != nil {
		t.Fatalf("new streams: %v, %v", answers[0].err, answers[3].err)
	}
	if answers[0].res.Position.Commit != answers[3].res.Position.Commit {
		t.Errorf("new-1 at %s and new-2 at %s: want one transaction", answers[0].res.Position, answers[3].res.Position)
	}
	if answers[3].res.Revision != 1 {
		t.Errorf("new-2 at revision %d, want 1", answers[3].res.Revision)
	}
	var wre *eventstore.WrongRevisionError
	if !errors.As(answers[1].err, &wre) || wre.Actual != 1 {
		t.Errorf("moved: %v, want a wrong revision at 1", answers[1].err)
	}
	if answers[2].err != nil || answers[2].res != original {
		t.Errorf("retried: %+v, %v; want the original %+v", answers[2].res, answers[2].err, original)
	}
	if got, _ := s.ReadStream(ctx, "moved", 0, 0); len(got) != 2 {
		t.Errorf("moved has %d events, want 2", len(got))
	}
}

// A group that collides with another writer of one of its streams is
// rolled back and each append written again alone: the collided one gets
// its wrong revision, the others commit, nothing is written twice.
func TestGroupCollidingWithAnotherWriterIsWrittenAgainAppendByAppend(t *testing.T) {
	s, url := openTest(t)
	ctx := t.Context()
	if _, err := s.Append(ctx, "contended", eventstore.NoStream(), []eventstore.EventData{event("Zero")}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := appendOnce(ctx, tx, "contended", eventstore.Exact(0), []eventstore.EventData{event("Other")}); err != nil {
		t.Fatal(err)
	}
	group := []*appendRequest{
		request(ctx, "contended", eventstore.Exact(0), event("Ours")),
		request(ctx, "bystander", eventstore.NoStream(), event("B")),
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		s.writeGroup(group)
	}()
	time.Sleep(200 * time.Millisecond) // the group waits on the other writer's revision 1
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	<-written
	contended, bystander := <-group[0].done, <-group[1].done
	var wre *eventstore.WrongRevisionError
	if !errors.As(contended.err, &wre) || wre.Actual != 1 {
		t.Errorf("contended: %v, want a wrong revision at 1", contended.err)
	}
	if bystander.err != nil {
		t.Errorf("bystander: %v", bystander.err)
	}
	for stream, want := range map[string]int{"contended": 2, "bystander": 1} {
		if got, _ := s.ReadStream(ctx, stream, 0, 0); len(got) != want {
			t.Errorf("%s has %d events, want %d", stream, len(got), want)
		}
	}
}

// Concurrent appends through Append: exactly one winner per revision of a
// contended stream, every append to a distinct stream stored, and some of
// them sharing a transaction.
func TestConcurrentAppendsAreGroupedWithOneWinnerPerRevision(t *testing.T) {
	s, _ := openTest(t)
	ctx := t.Context()
	if _, err := s.Append(ctx, "hot", eventstore.NoStream(), []eventstore.EventData{event("Zero")}); err != nil {
		t.Fatal(err)
	}
	const n = 48
	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		mu      sync.Mutex
		wins    int
		commits = map[uint64]int{}
		errs    []error
	)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.Append(ctx, "hot", eventstore.Exact(0), []eventstore.EventData{event("Hot")})
			mu.Lock()
			defer mu.Unlock()
			var wre *eventstore.WrongRevisionError
			switch {
			case err == nil:
				wins++
			case !errors.As(err, &wre):
				errs = append(errs, err)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			res, err := s.Append(ctx, fmt.Sprintf("cold-%d", i), eventstore.NoStream(), []eventstore.EventData{event("Cold")})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			commits[res.Position.Commit]++
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d appends failed, first: %v", len(errs), errs[0])
	}
	if wins != 1 {
		t.Errorf("%d appends won revision 1 of hot, want exactly 1", wins)
	}
	if got, _ := s.ReadStream(ctx, "hot", 0, 0); len(got) != 2 {
		t.Errorf("hot has %d events, want 2", len(got))
	}
	if len(commits) == n {
		t.Errorf("%d appends in %d transactions: none grouped", n, len(commits))
	}
	t.Logf("%d appends to distinct streams in %d transactions", n, len(commits))
}
