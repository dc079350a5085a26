package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// readModelQueries read every table of the read model.
var readModelQueries = []string{
	"SELECT stream, revision, card_status, updated_at, state::text FROM readmodel.cardholders ORDER BY stream",
	"SELECT card_no, status, status_since, updated_at, stream FROM readmodel.cards ORDER BY card_no",
	"SELECT card_no, reason, since, seq FROM readmodel.blacklist ORDER BY card_no",
	"SELECT seq, card_no, op, reason, pos_commit, pos_prepare FROM readmodel.blacklist_changes ORDER BY seq",
	"SELECT pos_commit, pos_prepare, step, card_no FROM readmodel.steps ORDER BY 1, 2",
	"SELECT pos_commit, pos_prepare, last_seq FROM readmodel.checkpoint",
}

// requireReadModelOf requires the read model of e to equal one that a
// fresh Model built from every event of e's store.
func requireReadModelOf(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	events, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	ref := testpg.NewPool(t, testpg.NewDatabase(t))
	require.NoError(t, readmodel.Migrate(ctx, ref))
	require.NoError(t, readmodel.New(ref).Apply(ctx, events))
	for _, q := range readModelQueries {
		want := rowsOf(t, ref, q)
		require.NotEmpty(t, want, q)
		require.Equal(t, want, rowsOf(t, e.pool, q), q)
	}
}

// onEveryCard appends event(card) to each holder whose current card has
// status in the read model and returns the new events.
func onEveryCard(t *testing.T, e *env, status domain.CardStatus, event func(cardNo string) domain.Event) []eventstore.RecordedEvent {
	t.Helper()
	ctx := context.Background()
	after, _, err := e.store.Head(ctx)
	require.NoError(t, err)
	rows, err := e.pool.Query(ctx, "SELECT stream, card_no FROM readmodel.cards WHERE status = $1 AND is_current ORDER BY stream", string(status))
	require.NoError(t, err)
	type target struct{ stream, card string }
	var targets []target
	for rows.Next() {
		var tg target
		require.NoError(t, rows.Scan(&tg.stream, &tg.card))
		targets = append(targets, tg)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, targets)
	for _, tg := range targets {
		e.appendEvents(t, tg.stream, event(tg.card))
	}
	e.waitVisible(t, e.last)
	events, err := e.store.ReadAll(ctx, after.Position, 0)
	require.NoError(t, err)
	require.Len(t, events, len(targets))
	return events
}

// A guarded batch folds the holders it has cached in place; when it fails
// (here its context ends before it is sent) those documents are ahead of
// the table, and the next batch must read them again: applied again, the
// losses are stored once, as a fresh model stores them.
func TestReadModelForgetsItsDocumentsWhenABatchFails(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.seed(t, 30, seed.HistoryOptions{})
	events, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.LessOrEqual(t, len(events), projections.PipelineMax)
	m := readmodel.New(e.pool)
	require.NoError(t, m.Apply(ctx, events)) // caches every holder

	losses := onEveryCard(t, e, domain.StatusActive, loss)
	failing, stop := context.WithCancel(ctx)
	stop()
	require.ErrorIs(t, m.Apply(failing, losses), context.Canceled)
	require.NoError(t, m.Apply(ctx, losses))
	requireReadModelOf(t, e)
}

// Another instance writes while this one does not hold the lock; when the
// runner takes it again (Recover), what this instance cached is stale.
func TestReadModelForgetsItsDocumentsOnHandover(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.seed(t, 30, seed.HistoryOptions{})
	events, err := e.store.ReadAll(ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.LessOrEqual(t, len(events), projections.PipelineMax)
	m := readmodel.New(e.pool)
	require.NoError(t, m.Apply(ctx, events)) // caches every holder

	// The other instance stores the losses, then this one takes the lock
	// again and applies the unlocks of the same cards.
	losses := onEveryCard(t, e, domain.StatusActive, loss)
	require.NoError(t, readmodel.New(e.pool).Apply(ctx, losses))
	unlocks := onEveryCard(t, e, domain.StatusTemporarilyLost, func(cardNo string) domain.Event {
		return domain.CardUnlocked{CardNo: cardNo, Lifted: domain.StatusTemporarilyLost}
	})
	pos, err := m.Recover(ctx)
	require.NoError(t, err)
	require.Equal(t, losses[len(losses)-1].Position, pos)
	require.NoError(t, m.Apply(ctx, unlocks))
	requireReadModelOf(t, e)
}

func loss(cardNo string) domain.Event {
	return domain.CardTemporarilyLost{CardNo: cardNo, Reason: "cache test"}
}
