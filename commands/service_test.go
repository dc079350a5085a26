package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
)

func newService(t *testing.T) (*commands.Service, eventstore.Store) {
	t.Helper()
	store := pgstoretest.OpenTest(t)
	svc, err := commands.NewService(store, testIDKey, time.Now)
	require.NoError(t, err)
	return svc, store
}

func registerPerson(t *testing.T, ctx context.Context, svc *commands.Service, n int) string {
	t.Helper()
	id := idNumber(n)
	res, err := svc.Register.Handle(ctx, commands.Register{
		Envelope:   commands.NewEnvelope(domain.Actor{Client: "test"}, "test"),
		Cardholder: domain.RegisterCardholder{IDNumber: id, Name: "王五", Nationality: "CHN", RegionCode: "440304"},
	})
	require.NoError(t, err)
	return res.CardholderID
}

// A command run again with the same command id (a client retry after a
// lost response, with no stored idempotent response) appends nothing and
// answers with what the first run appended.
func TestRerunCommandIsRecognisedInTheStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, store := newService(t)
	holder := registerPerson(t, ctx, svc, 1)

	env := commands.NewEnvelope(domain.Actor{Client: "bank-102"}, "test")
	first, err := svc.InstantIssue.Handle(ctx, commands.InstantIssue{Envelope: env, CardholderID: holder, BankCode: "102",
		AccountNo: testAccountNo, ChipID: testChipID})
	require.NoError(t, err)
	require.False(t, first.Replayed)
	cardNo := first.State.Card.CardNo

	again, err := svc.InstantIssue.Handle(ctx, commands.InstantIssue{Envelope: env, CardholderID: holder, BankCode: "102",
		AccountNo: testAccountNo, ChipID: testChipID})
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Revision, again.Revision)
	assert.Equal(t, first.Position, again.Position)
	assert.Equal(t, first.Events, again.Events)

	events, err := store.ReadStream(ctx, domain.StreamFor(holder), 0, 0)
	require.NoError(t, err)
	assert.Len(t, events, 7, "registration and one instant issuance")
	_, err = store.ReadStream(ctx, commands.CardNumberStream(cardNo), 0, 0)
	require.NoError(t, err)

	loss := commands.CardCommand{Envelope: commands.NewEnvelope(domain.Actor{Client: "c"}, "test"), CardNo: cardNo,
		Command: domain.ReportLoss{CardNo: cardNo}}
	_, err = svc.Card.Handle(ctx, loss)
	require.NoError(t, err)
	res, err := svc.Card.Handle(ctx, loss)
	require.NoError(t, err, "the retried loss is not refused as already lost")
	assert.True(t, res.Replayed)
	lossRevision := res.Revision

	// Rerun after later commands, the loss still answers what it did: the
	// card it left lost, not the card as it is now.
	_, err = svc.Card.Handle(ctx, commands.CardCommand{Envelope: commands.NewEnvelope(domain.Actor{Client: "c"}, "test"),
		CardNo: cardNo, Command: domain.UnlockCard{CardNo: cardNo}})
	require.NoError(t, err)
	res, err = svc.Card.Handle(ctx, loss)
	require.NoError(t, err)
	assert.True(t, res.Replayed)
	assert.Equal(t, lossRevision, res.Revision)
	assert.Equal(t, domain.StatusLost, res.State.Card.Status)
	again, err = svc.InstantIssue.Handle(ctx, commands.InstantIssue{Envelope: env, CardholderID: holder, BankCode: "102"})
	require.NoError(t, err)
	assert.Equal(t, first.Revision, again.Revision)
	assert.Equal(t, domain.StatusActive, again.State.Card.Status)
	assert.Equal(t, first.State, again.State, "the issuance answers with the state it left")
}

func TestCardNumbersAreUniqueAndResolve(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, _ := newService(t)
	env := commands.NewEnvelope(domain.Actor{Client: "test"}, "test")

	first, err := svc.CardNumbers.Reserve(ctx, env, "holder-a")
	require.NoError(t, err)
	require.NoError(t, domain.ValidateCardNo(first))

	again, err := svc.CardNumbers.Reserve(ctx, env, "holder-a")
	require.NoError(t, err)
	assert.Equal(t, first, again, "the same command reserves the same number")

	// Another holder whose command would start at the same candidate gets the next one.
	other, err := svc.CardNumbers.Reserve(ctx, env, "holder-b")
	require.NoError(t, err)
	assert.NotEqual(t, first, other)

	holder, err := svc.CardNumbers.Resolve(ctx, first)
	require.NoError(t, err)
	assert.Equal(t, "holder-a", holder)
	holder, err = svc.CardNumbers.Resolve(ctx, other)
	require.NoError(t, err)
	assert.Equal(t, "holder-b", holder)

	_, err = svc.CardNumbers.Resolve(ctx, "Z99999999")
	assert.True(t, domain.HasCode(err, domain.CodeCardNotFound), "%v", err)
	_, err = svc.CardNumbers.Resolve(ctx, "bad")
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
}

func TestIfMatchIsCheckedAgainstTheStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	svc, _ := newService(t)
	holder := registerPerson(t, ctx, svc, 1)

	stale := uint64(3)
	env := commands.NewEnvelope(domain.Actor{Client: "c"}, "test")
	env.Expected = &stale
	_, err := svc.Cardholder.Handle(ctx, commands.CardholderCommand{Envelope: env, CardholderID: holder,
		Command: domain.ApplyForCard{ApplicationID: "app-1", Source: domain.SourceCounter}})
	assert.ErrorIs(t, err, commands.ErrRevisionMismatch)

	current := uint64(0)
	env.Expected = &current
	res, err := svc.Cardholder.Handle(ctx, commands.CardholderCommand{Envelope: env, CardholderID: holder,
		Command: domain.ApplyForCard{ApplicationID: "app-1", Source: domain.SourceCounter}})
	require.NoError(t, err)
	assert.Equal(t, uint64(1), res.Revision)
}

func TestNewServiceChecksItsDependencies(t *testing.T) {
	store := pgstoretest.OpenTest(t)
	_, err := commands.NewService(store, []byte("short"), time.Now)
	assert.Error(t, err, "the id key must be long enough")
	_, err = commands.NewService(store, testIDKey, nil)
	assert.Error(t, err)
	_, err = commands.NewService(nil, testIDKey, time.Now)
	assert.Error(t, err)
}
