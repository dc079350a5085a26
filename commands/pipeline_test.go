package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
)

// The pipeline serves any aggregate: here the PSAM card. A command run
// twice with the same command id appends once and answers Replayed with
// the state its events left; an If-Match revision the stream moved past
// is ErrRevisionMismatch; event ids derive from the command id.
func TestPipelineRunsAnyAggregateIdempotently(t *testing.T) {
	ctx := context.Background()
	store := pgstoretest.OpenTest(t)
	psams, err := commands.NewPipeline(domain.PSAMs, store, time.Now)
	require.NoError(t, err)
	env := commands.NewEnvelope(domain.Actor{Client: "test"}, "test")
	stock := domain.StockInPSAM{Serial: "PSAM0001", Warehouse: "main", ReceivedOn: "2026-03-02"}

	first, err := psams.Handle(ctx, "PSAM0001", env, stock)
	require.NoError(t, err)
	assert.False(t, first.Replayed)
	assert.Equal(t, domain.PSAMStatusInStock, first.State.Status)
	again, err := psams.Handle(ctx, "PSAM0001", env, stock)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Events, again.Events)
	assert.Equal(t, first.State, again.State)

	recs, err := store.ReadStream(ctx, domain.PSAMStreamFor("PSAM0001"), 0, 0)
	require.NoError(t, err)
	require.Len(t, recs, 1)
	assert.Equal(t, commands.EventID(env.CommandID, domain.PSAMStreamFor("PSAM0001"), 0), recs[0].ID)
	v, err := domain.StoredSchemaVersion(recs[0].Metadata)
	require.NoError(t, err)
	assert.Equal(t, domain.SchemaVersion("PSAMStockedIn"), v)

	// Another command (new id) is refused by the domain, not replayed.
	_, err = psams.Handle(ctx, "PSAM0001", commands.Envelope{CommandID: uuid.New()}, stock)
	assert.True(t, domain.HasCode(err, domain.CodePSAMExists), "got %v", err)

	stale := uint64(5)
	_, err = psams.Run(ctx, "PSAM0001", commands.Call[*domain.PSAM]{
		Env: commands.Envelope{CommandID: uuid.New()}, Expected: &stale,
		Decide: func(p *domain.PSAM) ([]domain.Event, error) {
			return domain.DecidePSAM(p, domain.IssuePSAM{Agency: "a", On: "2026-03-03"})
		},
	})
	assert.True(t, errors.Is(err, commands.ErrRevisionMismatch), "got %v", err)
}
