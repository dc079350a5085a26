package commands_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// follower records the positions it is brought to and fails while failing is set.
type follower struct {
	mu      sync.Mutex
	calls   []eventstore.Position
	failing bool
}

func (f *follower) catchUp(_ context.Context, pos eventstore.Position) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, pos)
	if f.failing {
		return errors.New("read model unavailable")
	}
	return nil
}

// The erasure answers only after every read model that keeps personal data
// was brought past it; a follower that fails fails the erasure (500, not a
// problem), and every retry — one that finds the holder already erased
// (409) and one with the same command id (replayed) — brings every
// follower to the recorded erasure again. Other commands wait for nobody.
func TestErasureBringsEveryFollowerPastItBeforeAnswering(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, store := newService(t)
	holder := registerPerson(t, ctx, svc, 1)
	broken, fine := &follower{failing: true}, &follower{}
	svc.Cardholder.FollowErasures(
		commands.ErasureFollower{Name: "broken", CatchUp: broken.catchUp},
		commands.ErasureFollower{Name: "fine", CatchUp: fine.catchUp},
	)
	_, err := svc.Cardholder.Handle(ctx, commands.CardholderCommand{Envelope: commands.NewEnvelope(domain.Actor{Client: "c"}, "test"),
		CardholderID: holder, Command: domain.ApplyForCard{ApplicationID: "a1", Source: domain.SourceCounter}})
	require.NoError(t, err)
	assert.Empty(t, fine.calls, "only an erasure waits for the followers")

	first := commands.NewEnvelope(domain.Actor{Client: "c"}, "test")
	erase := commands.CardholderCommand{Envelope: first, CardholderID: holder, Command: domain.EraseCardholder{}}
	_, err = svc.Cardholder.Handle(ctx, erase)
	require.ErrorContains(t, err, "read model broken: read model unavailable")
	assert.Nil(t, commands.ProblemFor(err), "a 500: the client retries")
	recorded, err := store.ReadStream(ctx, domain.StreamFor(holder), 0, 0)
	require.NoError(t, err)
	last := recorded[len(recorded)-1]
	require.Equal(t, "CardholderErased", last.Type, "the erasure itself is recorded")
	assert.Equal(t, []eventstore.Position{last.Position}, broken.calls)
	assert.Equal(t, []eventstore.Position{last.Position}, fine.calls, "the others are brought past it all the same")

	broken.failing = false
	_, err = svc.Cardholder.Handle(ctx, commands.CardholderCommand{Envelope: commands.NewEnvelope(domain.Actor{Client: "c"}, "test"),
		CardholderID: holder, Command: domain.EraseCardholder{}})
	require.True(t, domain.HasCode(err, domain.CodeAlreadyErased), "%v", err)
	res, err := svc.Cardholder.Handle(ctx, erase)
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	want := []eventstore.Position{last.Position, last.Position, last.Position}
	assert.Equal(t, want, broken.calls)
	assert.Equal(t, want, fine.calls)
}
