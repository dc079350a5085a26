package batch

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections"
)

// waitApplied waits until r has applied pos (which it can only do once
// pos is visible in $all).
func waitApplied(t *testing.T, ctx context.Context, e *env, r *projections.Runner, pos eventstore.Position) {
	t.Helper()
	if err := r.WaitFor(ctx, pos); err != nil {
		t.Fatal(err)
	}
}

// A temporary loss and its unlock do not rewrite the holder's applications
// row (batch selection never reads them), the row's status still equals the
// domain's replay of the whole stream, and a rebuild gives the rows built
// live.
func TestTemporaryLossAndUnlockLeaveApplicationsUntouched(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := projections.NewRunner(e.store, e.pool, nil).
		WithOptions(projections.Options{LockPoll: 20 * time.Millisecond, Retry: 20 * time.Millisecond}).
		Add(NewReadModel(e.pool))
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = r.Run(runCtx) }()
	defer func() { stop(); wg.Wait() }()

	// Lifecycles that include temporary losses, unlocks and formal losses.
	res, err := seed.History(ctx, e.store, 12, seed.HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waitApplied(t, ctx, e, r, res.Last)

	type row struct {
		id, cardNo string
		xmin       uint32
	}
	var active []row
	rows, err := e.pool.Query(ctx, `SELECT cardholder_id, state->'Card'->>'CardNo', xmin::text::bigint FROM batchrm.applications
		WHERE status = 'active' ORDER BY cardholder_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r row
		var xmin int64
		if err := rows.Scan(&r.id, &r.cardNo, &xmin); err != nil {
			t.Fatal(err)
		}
		r.xmin = uint32(xmin)
		active = append(active, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(active) < 3 {
		t.Fatalf("%d active cards seeded, want at least 3", len(active))
	}
	var last eventstore.Position
	for _, a := range active {
		data, err := commands.EncodeEvents(domain.EncodeEvent, commands.NewEnvelope(domain.Actor{Client: "test"}, "test"), domain.StreamFor(a.id), time.Now().UTC(), []domain.Event{
			domain.CardTemporarilyLost{CardNo: a.cardNo, Reason: "wallet"},
			domain.CardUnlocked{CardNo: a.cardNo, Lifted: domain.StatusTemporarilyLost, Reason: "found"},
			domain.CardTemporarilyLost{CardNo: a.cardNo, Reason: "again"},
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := e.store.Append(ctx, domain.StreamFor(a.id), eventstore.Any(), data)
		if err != nil {
			t.Fatal(err)
		}
		last = res.Position
	}
	waitApplied(t, ctx, e, r, last)
	for _, a := range active {
		var xmin int64
		if err := e.pool.QueryRow(ctx, "SELECT xmin::text::bigint FROM batchrm.applications WHERE cardholder_id = $1", a.id).Scan(&xmin); err != nil {
			t.Fatal(err)
		}
		if uint32(xmin) != a.xmin {
			t.Fatalf("applications row of %s rewritten by a temporary loss or unlock", a.id)
		}
	}

	// Every row's status is the status of the domain's full replay, except
	// a temporary loss, which batch selection treats as the status before it.
	events, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	if err != nil {
		t.Fatal(err)
	}
	replayed := map[string]*domain.Cardholder{}
	for _, ev := range events {
		id, ok := domain.CardholderIDOfStream(ev.Stream)
		if !ok {
			continue
		}
		de, err := domain.DecodeStoredEvent(ev.Type, ev.Data, ev.Metadata)
		if err != nil {
			continue
		}
		if replayed[id] == nil {
			replayed[id] = domain.NewCardholder(id)
		}
		replayed[id].Apply(de)
	}
	stored := map[string]string{}
	rows, err = e.pool.Query(ctx, "SELECT cardholder_id, status FROM batchrm.applications")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, status string
		if err := rows.Scan(&id, &status); err != nil {
			t.Fatal(err)
		}
		stored[id] = status
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(replayed) {
		t.Fatalf("%d applications rows, %d cardholders in the log", len(stored), len(replayed))
	}
	for id, c := range replayed {
		want := c.Status()
		if want == domain.StatusTemporarilyLost {
			want = c.Card.BeforeLoss
		}
		if stored[id] != string(want) {
			t.Fatalf("cardholder %s: stored status %q, the replay gives %q", id, stored[id], want)
		}
	}

	live := dumpReadModel(t, e.pool)
	if _, err := r.Rebuild(ctx, ReadModelName); err != nil {
		t.Fatal(err)
	}
	if got := dumpReadModel(t, e.pool); !equalDumps(live, got) {
		t.Fatalf("after the rebuild:\n%v\nwant the rows built live:\n%v", got, live)
	}
}

// Advance (the runner's call for a live batch of events the model does not
// use) moves the checkpoint forward in one statement and never back; Uses
// leaves out exactly the temporary loss and the unlock that lifts it.
func TestAdvanceMovesTheCheckpointOnlyForward(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	m := NewReadModel(e.pool)
	to := eventstore.Position{Commit: 900, Prepare: 7}
	for _, pos := range []eventstore.Position{to, {Commit: 900, Prepare: 6}, {Commit: 12, Prepare: 99}} {
		if err := m.Advance(ctx, pos); err != nil {
			t.Fatal(err)
		}
	}
	if cp, err := m.Checkpoint(ctx); err != nil || cp != to {
		t.Fatalf("checkpoint %s (%v), want %s: Advance must not move it back", cp, err, to)
	}

	ev := func(e domain.Event) eventstore.RecordedEvent {
		data, err := commands.EncodeEvents(domain.EncodeEvent, commands.NewEnvelope(domain.Actor{Client: "test"}, "test"), domain.StreamPrefix+"x", time.Now().UTC(), []domain.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		return eventstore.RecordedEvent{Stream: domain.StreamPrefix + "x", Type: data[0].Type, Data: data[0].Data, Metadata: data[0].Metadata}
	}
	for _, c := range []struct {
		e    domain.Event
		uses bool
	}{
		{domain.CardTemporarilyLost{CardNo: "c"}, false},
		{domain.CardUnlocked{CardNo: "c", Lifted: domain.StatusTemporarilyLost}, false},
		{domain.CardUnlocked{CardNo: "c", Lifted: domain.StatusLost}, true},
		{domain.CardReportedLost{CardNo: "c"}, true},
	} {
		if got := m.Uses(ev(c.e)); got != c.uses {
			t.Errorf("Uses(%T %+v) = %v, want %v", c.e, c.e, got, c.uses)
		}
	}
}
