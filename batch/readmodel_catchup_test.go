package batch

import (
	"context"
	"testing"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
)

// The job worker's CatchUp (every poll, beside the runner) passes a page of
// temporary losses and unlocks by advancing the checkpoint in one UPDATE,
// not by a transaction that locks the checkpoint row FOR UPDATE first: with
// the row held FOR KEY SHARE elsewhere (which FOR UPDATE waits for and a
// plain UPDATE does not), it still reaches the head at once.
func TestCatchUpPassesUnusedEventsWithoutLockingTheCheckpoint(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	m := NewReadModel(e.pool)
	res, err := seed.History(ctx, e.store, 6, seed.HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.CatchUpTo(ctx, e.store, res.Last); err != nil {
		t.Fatal(err)
	}
	var id, cardNo string
	if err := e.pool.QueryRow(ctx, `SELECT cardholder_id, state->'Card'->>'CardNo' FROM batchrm.applications
		WHERE status = 'active' ORDER BY cardholder_id LIMIT 1`).Scan(&id, &cardNo); err != nil {
		t.Fatal(err)
	}
	data, err := commands.EncodeEvents(domain.EncodeEvent, commands.NewEnvelope(domain.Actor{Client: "test"}, "test"), domain.StreamFor(id), time.Now().UTC(), []domain.Event{
		domain.CardTemporarilyLost{CardNo: cardNo, Reason: "wallet"},
		domain.CardUnlocked{CardNo: cardNo, Lifted: domain.StatusTemporarilyLost, Reason: "found"},
	})
	if err != nil {
		t.Fatal(err)
	}
	app, err := e.store.Append(ctx, domain.StreamFor(id), eventstore.Any(), data)
	if err != nil {
		t.Fatal(err)
	}
	for { // $all may show the append a moment later
		h, ok, err := e.store.Head(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok && !h.Position.Less(app.Position) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}

	holder, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback(context.Background())
	if _, err := holder.Exec(ctx, "SELECT * FROM batchrm.checkpoint FOR KEY SHARE"); err != nil {
		t.Fatal(err)
	}
	quick, stop := context.WithTimeout(ctx, 3*time.Second)
	defer stop()
	if err := m.CatchUp(quick, e.store); err != nil {
		t.Fatalf("catch up past a temporary loss and unlock: %v", err)
	}
	cp, err := m.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if cp != app.Position {
		t.Fatalf("checkpoint %s, want %s", cp, app.Position)
	}
}
