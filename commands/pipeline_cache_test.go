package commands_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
)

// countingStore is the real store with its ReadStream calls counted per
// stream: what a command read.
type countingStore struct {
	eventstore.Store
	mu    sync.Mutex
	reads map[string]int
}

func (s *countingStore) ReadStream(ctx context.Context, stream string, from uint64, max int) ([]eventstore.RecordedEvent, error) {
	s.mu.Lock()
	s.reads[stream]++
	s.mu.Unlock()
	return s.Store.ReadStream(ctx, stream, from, max)
}

func (s *countingStore) readsOf(holder string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads[domain.StreamFor(holder)]
}

const cacheCardNo = "A00000001"

// activeHolder is a registered holder whose card cacheCardNo is active:
// seven events, revisions 0 to 6.
func activeHolder(id string) []domain.Event {
	app := "app-" + id
	return []domain.Event{
		domain.CardholderRegistered{CardholderID: id, IDNumber: "110101199003074578", Name: "张三", Sex: domain.Male,
			BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505"},
		domain.CardApplied{ApplicationID: app, Source: domain.SourceCounter, Kind: domain.FirstIssue, BankCode: "102"},
		domain.BankAccountOpened{ApplicationID: app, BankCode: "102", AccountNo: "6222000000000001"},
		domain.CardNumberAssigned{ApplicationID: app, CardNo: cacheCardNo},
		domain.CardProduced{CardNo: cacheCardNo, ChipID: "chip-1", Vendor: "acme"},
		domain.CardIssued{CardNo: cacheCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01", Agency: "outlet-1"},
		domain.CardActivated{CardNo: cacheCardNo},
	}
}

// twoInstances are two processes' repositories over one store, each with
// its own stream cache, and a holder with an active card created through
// a third pipeline (as the batch import creates holders): neither
// instance has it cached yet.
type twoInstances struct {
	store  *countingStore
	a, b   *commands.Repository
	holder string
}

func newTwoInstances(t *testing.T) *twoInstances {
	t.Helper()
	store := &countingStore{Store: pgstoretest.OpenTest(t), reads: map[string]int{}}
	a, err := commands.NewRepository(store, time.Now)
	require.NoError(t, err)
	b, err := commands.NewRepository(store, time.Now)
	require.NoError(t, err)
	creator, err := commands.NewPipeline(domain.Cardholders, store, time.Now)
	require.NoError(t, err)
	holder := uuid.NewString()
	_, err = creator.Create(context.Background(), commands.Start[*domain.Cardholder]{ID: holder, Env: newEnvelope(),
		Decide: func(*domain.Cardholder) ([]domain.Event, error) { return activeHolder(holder), nil }})
	require.NoError(t, err)
	return &twoInstances{store: store, a: a, b: b, holder: holder}
}

func newEnvelope() commands.Envelope {
	return commands.NewEnvelope(domain.Actor{Client: "test"}, "test")
}

// run runs cmd on the holder through repo with env.
func (w *twoInstances) run(repo *commands.Repository, expected *uint64, env commands.Envelope, cmd domain.CardholderCommand) (commands.Result, error) {
	return repo.Update(context.Background(), w.holder, expected, env, func(s *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(s, cmd)
	})
}

// recorded returns the holder's events from revision from on, decoded.
func (w *twoInstances) recorded(t *testing.T, from uint64) []domain.Event {
	t.Helper()
	recs, err := w.store.Store.ReadStream(context.Background(), domain.StreamFor(w.holder), from, 0)
	require.NoError(t, err)
	var out []domain.Event
	for _, r := range recs {
		e, err := domain.DecodeStoredEvent(r.Type, r.Data, r.Metadata)
		require.NoError(t, err)
		out = append(out, e)
	}
	return out
}

var (
	tempLoss = domain.ReportTemporaryLoss{CardNo: cacheCardNo, Reason: "left at home"}
	unlock   = domain.UnlockCard{CardNo: cacheCardNo, Reason: "found"}
)

// A second command on a holder this instance wrote reads nothing: it is
// decided on the cached stream and appended at its revision.
func TestSecondCommandOnAHolderReadsNoStream(t *testing.T) {
	w := newTwoInstances(t)
	_, err := w.run(w.a, nil, newEnvelope(), tempLoss)
	require.NoError(t, err)
	require.Equal(t, 1, w.store.readsOf(w.holder), "the first command reads the stream")

	res, err := w.run(w.a, nil, newEnvelope(), unlock)
	require.NoError(t, err)
	assert.Equal(t, 1, w.store.readsOf(w.holder), "the second command must read nothing")
	assert.Equal(t, uint64(8), res.Revision)
	assert.Equal(t, []domain.Event{domain.CardUnlocked{CardNo: cacheCardNo, Lifted: domain.StatusTemporarilyLost, Reason: "found"}}, res.Events)
	assert.Equal(t, domain.StatusActive, res.State.Card.Status)
	assert.Equal(t, append(activeHolder(w.holder), domain.CardTemporarilyLost{CardNo: cacheCardNo, Reason: "left at home"},
		domain.CardUnlocked{CardNo: cacheCardNo, Lifted: domain.StatusTemporarilyLost, Reason: "found"}), w.recorded(t, 0))
}

// Another instance moved the stream after this one cached it: the next
// command, decided on the stale copy, is refused at the cached revision
// by the store and decided again on the fresh state, appended once, at
// the stream's revision.
func TestAStaleCacheDecidesAgainOnTheFreshStream(t *testing.T) {
	w := newTwoInstances(t)
	_, err := w.run(w.a, nil, newEnvelope(), tempLoss) // a caches revision 7
	require.NoError(t, err)
	_, err = w.run(w.b, nil, newEnvelope(), unlock) // b: revision 8, active again
	require.NoError(t, err)

	res, err := w.run(w.a, nil, newEnvelope(), domain.ReportLoss{CardNo: cacheCardNo, Reason: "stolen"})
	require.NoError(t, err)
	assert.Equal(t, uint64(9), res.Revision)
	assert.Equal(t, []domain.Event{domain.CardReportedLost{CardNo: cacheCardNo, Reason: "stolen"}}, res.Events)
	assert.Equal(t, []domain.Event{
		domain.CardTemporarilyLost{CardNo: cacheCardNo, Reason: "left at home"},
		domain.CardUnlocked{CardNo: cacheCardNo, Lifted: domain.StatusTemporarilyLost, Reason: "found"},
		domain.CardReportedLost{CardNo: cacheCardNo, Reason: "stolen"},
	}, w.recorded(t, 7))

	// The append refreshed a's cache: the next command reads nothing.
	reads := w.store.readsOf(w.holder)
	_, err = w.run(w.a, nil, newEnvelope(), unlock)
	require.NoError(t, err)
	assert.Equal(t, reads, w.store.readsOf(w.holder))
}

// A refusal decided on a stale copy is never answered: a caches the card
// active, b reports it temporarily lost; a's unlock succeeds (on the
// cached copy, the card was active and unlock would be refused).
func TestARefusalOnAStaleCacheIsDecidedAgain(t *testing.T) {
	w := newTwoInstances(t)
	_, err := w.run(w.a, nil, newEnvelope(), domain.ResetPIN{CardNo: cacheCardNo}) // a caches the card active
	require.NoError(t, err)
	_, err = w.run(w.b, nil, newEnvelope(), tempLoss)
	require.NoError(t, err)

	res, err := w.run(w.a, nil, newEnvelope(), unlock)
	require.NoError(t, err)
	assert.Equal(t, uint64(9), res.Revision)
	assert.Equal(t, []domain.Event{domain.CardUnlocked{CardNo: cacheCardNo, Lifted: domain.StatusTemporarilyLost, Reason: "found"}}, res.Events)
	assert.Equal(t, 2, len(w.recorded(t, 8)), "b's loss and a's unlock, nothing else")

	// A refusal on a current copy is still a refusal.
	_, err = w.run(w.a, nil, newEnvelope(), unlock)
	require.Error(t, err)
	assert.True(t, domain.HasCode(err, domain.CodeInvalidTransition), "got %v", err)
}

// An If-Match revision the cached copy does not have is checked on a
// fresh read: the stream may be there. One the stream moved past is 412
// as ever, and appends nothing.
func TestIfMatchOnAStaleCache(t *testing.T) {
	w := newTwoInstances(t)
	_, err := w.run(w.a, nil, newEnvelope(), tempLoss) // a caches revision 7
	require.NoError(t, err)
	_, err = w.run(w.b, nil, newEnvelope(), unlock) // revision 8
	require.NoError(t, err)

	at8 := uint64(8)
	res, err := w.run(w.a, &at8, newEnvelope(), tempLoss)
	require.NoError(t, err)
	assert.Equal(t, uint64(9), res.Revision)
	assert.Equal(t, []domain.Event{domain.CardTemporarilyLost{CardNo: cacheCardNo, Reason: "left at home"}}, res.Events)

	_, err = w.run(w.b, nil, newEnvelope(), unlock) // revision 10; a's cache says 9
	require.NoError(t, err)
	at9 := uint64(9)
	_, err = w.run(w.a, &at9, newEnvelope(), unlock) // decided on a's copy, refused by the store at 9
	assert.True(t, errors.Is(err, commands.ErrRevisionMismatch), "got %v", err)
	_, err = w.run(w.a, &at9, newEnvelope(), unlock) // decided on a fresh read, at 10

	assert.True(t, errors.Is(err, commands.ErrRevisionMismatch), "got %v", err)
	assert.Len(t, w.recorded(t, 0), 11)
}

// A command run again with the same command id on a cached stream answers
// Replayed with what its first run answered, and appends nothing.
func TestAReplayOnACachedStreamAnswersAsBefore(t *testing.T) {
	w := newTwoInstances(t)
	_, err := w.run(w.a, nil, newEnvelope(), domain.ResetPIN{CardNo: cacheCardNo})
	require.NoError(t, err)
	env := newEnvelope()
	first, err := w.run(w.a, nil, env, tempLoss)
	require.NoError(t, err)
	_, err = w.run(w.a, nil, newEnvelope(), unlock) // a later command moves the state on
	require.NoError(t, err)

	again, err := w.run(w.a, nil, env, tempLoss)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Revision, again.Revision)
	assert.Equal(t, first.Position, again.Position)
	assert.Equal(t, first.Events, again.Events)
	assert.Equal(t, first.State, again.State)
	assert.Equal(t, domain.StatusTemporarilyLost, again.State.Card.Status)
	assert.Len(t, w.recorded(t, 0), 10)
}

// Another instance applied a command after this one cached the stream;
// the command's retry here (same command id), decided on the copy cached
// at exactly the revision the other instance appended at, is the store's
// idempotent retry (AppendResult.Retried): it answers Replayed with what
// the other instance's run answered, and appends nothing.
func TestARetryOfACommandAnotherInstanceAppliedAnswersReplayed(t *testing.T) {
	w := newTwoInstances(t)
	_, err := w.run(w.a, nil, newEnvelope(), domain.ResetPIN{CardNo: cacheCardNo}) // a caches revision 7
	require.NoError(t, err)
	env := newEnvelope()
	first, err := w.run(w.b, nil, env, tempLoss) // b: revision 8
	require.NoError(t, err)

	again, err := w.run(w.a, nil, env, tempLoss)
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Revision, again.Revision)
	assert.Equal(t, first.Position, again.Position)
	assert.Equal(t, first.Events, again.Events)
	assert.Equal(t, first.State, again.State)
	assert.Len(t, w.recorded(t, 0), 9)
}
