package commands

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/internal/testpg"
)

// cachedEvents returns n events and their ids.
func cachedEvents(n int) ([]domain.Event, []uuid.UUID) {
	events, ids := make([]domain.Event, n), make([]uuid.UUID, n)
	for i := range events {
		events[i], ids[i] = domain.CardActivated{CardNo: "A00000001"}, uuid.New()
	}
	return events, ids
}

func cachedIDs(c *streamCache) []string {
	var out []string
	for el := c.lru.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*cachedStream).id)
	}
	return out
}

// The cache holds at most maxStreams streams and maxEvents events; the
// least recently used stream goes first.
func TestStreamCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	c := newStreamCache(3) // 3 streams, 96 events
	for _, id := range []string{"a", "b", "c"} {
		e, ids := cachedEvents(10)
		c.put(id, 9, e, ids, nil, time.Time{})
	}
	_, ok := c.get("a") // a is used: b is now the oldest
	require.True(t, ok)
	e, ids := cachedEvents(10)
	c.put("d", 9, e, ids, nil, time.Time{})
	assert.Equal(t, []string{"d", "a", "c"}, cachedIDs(c), "by streams")

	e, ids = cachedEvents(80) // 30 + 80 > 96: c, then a go
	c.put("e", 79, e, ids, nil, time.Time{})
	assert.Equal(t, []string{"e", "d"}, cachedIDs(c), "by events")
	streams, events := c.len()
	assert.Equal(t, 2, streams)
	assert.Equal(t, 90, events)

	e, ids = cachedEvents(97) // more than the whole cache: not cached
	c.put("f", 96, e, ids, nil, time.Time{})
	assert.Equal(t, []string{"e", "d"}, cachedIDs(c))

	// An older revision never replaces a newer one; a newer one does.
	e, ids = cachedEvents(5)
	c.put("d", 4, e, ids, nil, time.Time{})
	got, _ := c.get("d")
	assert.Equal(t, uint64(9), got.revision)
	e, ids = cachedEvents(12)
	c.put("d", 11, e, ids, nil, time.Time{})
	got, _ = c.get("d")
	assert.Equal(t, uint64(11), got.revision)
	_, events = c.len()
	assert.Equal(t, 92, events)

	assert.Nil(t, newStreamCache(0), "0 turns the cache off")
}

// An entry is used for streamCacheTTL after it was stored, no longer: the
// age of the data keys that opened its personal data.
func TestStreamCacheForgetsAfterItsTTL(t *testing.T) {
	c := newStreamCache(3)
	now := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	e, ids := cachedEvents(2)
	c.put("a", 1, e, ids, nil, time.Time{})
	now = now.Add(streamCacheTTL - time.Second)
	_, ok := c.get("a")
	assert.True(t, ok)
	now = now.Add(time.Second)
	_, ok = c.get("a")
	assert.False(t, ok)
	streams, events := c.len()
	assert.Equal(t, 0, streams)
	assert.Equal(t, 0, events)
}

// Appends extending an entry keep the age of the read it started from: a
// holder written every minute is read from the store again after
// streamCacheTTL, so personal data opened before another instance's
// erasure (with a data key not yet dropped here) is not kept alive by
// writes.
func TestStreamCacheEntryExtendedByAppendsKeepsItsReadAge(t *testing.T) {
	c := newStreamCache(3)
	read := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	now := read
	c.now = func() time.Time { return now }
	e, ids := cachedEvents(2)
	c.put("a", 0, e[:1], ids[:1], nil, time.Time{}) // read from the store now
	got, ok := c.get("a")
	require.True(t, ok)
	now = read.Add(streamCacheTTL - time.Second)
	c.put("a", 1, e, ids, nil, got.read) // an append on the cached copy, just before it expires
	_, ok = c.get("a")
	assert.True(t, ok)
	now = read.Add(streamCacheTTL)
	_, ok = c.get("a")
	assert.False(t, ok, "the read it started from is streamCacheTTL old")
}

// An erasure appended through the pipeline drops the holder's decoded
// events (personal data opened) from the cache at once, and a command
// that loaded before the erasure cannot put them back.
func TestAnErasureDropsTheCachedStream(t *testing.T) {
	ctx := context.Background()
	url := testpg.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, piistore.Migrate(ctx, pool))
	master, err := piistore.NewMasterKey(make([]byte, piistore.MasterKeySize))
	require.NoError(t, err)
	keys, err := piistore.NewKeyring(pool, master, nil, piistore.KeyringOptions{})
	require.NoError(t, err)
	store := piistore.New(pgstoretest.OpenURL(t, url), keys) // personal data sealed, as serve does
	repo, err := NewRepository(store, time.Now)
	require.NoError(t, err)
	holder := uuid.NewString()
	registered := domain.CardholderRegistered{CardholderID: holder, IDNumber: "110101199003074578", Name: "张三",
		Sex: domain.Male, BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505"}
	run := func(decide func(*domain.Cardholder) ([]domain.Event, error)) Result {
		t.Helper()
		res, err := repo.Update(ctx, holder, nil, NewEnvelope(domain.Actor{Client: "test"}, "test"), decide)
		require.NoError(t, err)
		return res
	}
	run(func(*domain.Cardholder) ([]domain.Event, error) { return []domain.Event{registered}, nil })
	cached, ok := repo.p.cache.get(holder)
	require.True(t, ok)
	assert.Equal(t, []domain.Event{registered}, cached.events)

	erased := run(func(c *domain.Cardholder) ([]domain.Event, error) { return domain.Decide(c, domain.EraseCardholder{}) })
	require.Equal(t, uint64(1), erased.Revision)
	_, ok = repo.p.cache.get(holder)
	assert.False(t, ok, "the erased holder's data must be gone from the cache")
	_, events := repo.p.cache.len()
	assert.Equal(t, 0, events)

	// What a command loaded before the erasure (revision 0) stays out.
	repo.p.cache.put(holder, 0, []domain.Event{registered}, []uuid.UUID{uuid.New()}, nil, time.Time{})
	_, ok = repo.p.cache.get(holder)
	assert.False(t, ok)
	// A command after the erasure caches the stream as it reads now:
	// without the person's data.
	run(func(*domain.Cardholder) ([]domain.Event, error) {
		return []domain.Event{domain.NotificationPreferencesSet{SMSOptOut: true}}, nil
	})
	cached, ok = repo.p.cache.get(holder)
	require.True(t, ok)
	assert.Equal(t, uint64(2), cached.revision)
	require.Len(t, cached.events, 3)
	assert.Equal(t, domain.ErasedMarker, cached.events[0].(domain.CardholderRegistered).Name)
	assert.Equal(t, domain.ErasedMarker, cached.events[0].(domain.CardholderRegistered).IDNumber)
}

// The stream cache's uses are counted by result: a miss and a hit, a
// stale copy (another instance appended) and a re-check (a refusal on the
// cached copy, decided again on a fresh read).
func TestStreamCacheUsesAreCounted(t *testing.T) {
	ctx := context.Background()
	store := pgstoretest.OpenTest(t)
	a, err := NewRepository(store, time.Now)
	require.NoError(t, err)
	b, err := NewRepository(store, time.Now)
	require.NoError(t, err)
	m, err := NewMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	a.p.metrics = m
	holder := uuid.NewString()
	run := func(r *Repository, events ...domain.Event) error {
		_, err := r.Update(ctx, holder, nil, NewEnvelope(domain.Actor{Client: "test"}, "test"),
			func(c *domain.Cardholder) ([]domain.Event, error) {
				if c.Registered && events[0].EventType() == "CardholderRegistered" {
					return nil, domain.Conflict("registered", "registered already")
				}
				return events, nil
			})
		return err
	}
	registered := domain.CardholderRegistered{CardholderID: holder, IDNumber: "110101199003074578", Name: "张三",
		Sex: domain.Male, BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505"}
	optOut := domain.NotificationPreferencesSet{SMSOptOut: true}
	require.NoError(t, run(a, registered)) // miss
	require.NoError(t, run(a, optOut))     // hit
	require.NoError(t, run(b, optOut))
	require.NoError(t, run(a, optOut))   // hit, stale, then a fresh read
	require.Error(t, run(a, registered)) // hit, refused, re-checked on a fresh read: refused
	count := func(result string) float64 { return testutil.ToFloat64(m.streamCaches.WithLabelValues(result)) }
	assert.Equal(t, []float64{3, 1, 1, 1}, []float64{count(cacheHit), count(cacheMiss), count(cacheStale), count(cacheRecheck)})
}

// Another instance's erasure drops this instance's cached copy of the
// holder as soon as this instance's keyring hears of it (Listen,
// OnErasure), not only when the copy's next append fails.
func TestAnotherInstancesErasureDropsTheCachedStream(t *testing.T) {
	ctx := context.Background()
	url := testpg.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, piistore.Migrate(ctx, pool))
	master, err := piistore.NewMasterKey(make([]byte, piistore.MasterKeySize))
	require.NoError(t, err)
	raw := pgstoretest.OpenURL(t, url)
	instance := func() (*Repository, *piistore.Keyring) {
		keys, err := piistore.NewKeyring(pool, master, nil, piistore.KeyringOptions{})
		require.NoError(t, err)
		repo, err := NewRepository(piistore.New(raw, keys), time.Now)
		require.NoError(t, err)
		return repo, keys
	}
	a, aKeys := instance()
	b, _ := instance()
	listens := make(chan struct{}) // closed once a's keyring listens: "" told
	var once sync.Once
	aKeys.OnErasure(func(subject string) {
		a.Erased(subject)
		if subject == "" {
			once.Do(func() { close(listens) })
		}
	})
	listening, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); aKeys.Listen(listening, logrus.New()) }()
	t.Cleanup(func() { stop(); <-done })
	<-listens

	holder := uuid.NewString()
	registered := domain.CardholderRegistered{CardholderID: holder, IDNumber: "110101199003074578", Name: "张三",
		Sex: domain.Male, BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505"}
	env := func() Envelope { return NewEnvelope(domain.Actor{Client: "test"}, "test") }
	_, err = a.Update(ctx, holder, nil, env(), func(*domain.Cardholder) ([]domain.Event, error) { return []domain.Event{registered}, nil })
	require.NoError(t, err)
	_, ok := a.p.cache.get(holder)
	require.True(t, ok)

	_, err = b.Update(ctx, holder, nil, env(), func(c *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(c, domain.EraseCardholder{})
	})
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, ok := a.p.cache.get(holder); !ok {
			break
		}
		require.True(t, time.Now().Before(deadline), "a still holds the holder erased by b")
		time.Sleep(10 * time.Millisecond) // polling for the notification
	}
}

// A keyed command (its Idempotency-Key's row in the append) that another
// instance ran after this one cached the holder, sent again here: the
// append at the cached revision finds the row and the events (an
// idempotent retry), so it is answered from a fresh read as the replay it
// is, and the cache is not set back to the command's revision.
func TestAKeyedRetryOnAStaleCacheAnswersFromAFreshRead(t *testing.T) {
	ctx := context.Background()
	url := testpg.NewDatabase(t)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, Migrate(ctx, pool))
	store := pgstoretest.OpenURL(t, url)
	a, err := NewRepository(store, time.Now)
	require.NoError(t, err)
	b, err := NewRepository(store, time.Now)
	require.NoError(t, err)
	holder := uuid.NewString()
	registered := domain.CardholderRegistered{CardholderID: holder, IDNumber: "110101199003074578", Name: "张三",
		Sex: domain.Male, BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505"}
	set := func(sms bool) func(*domain.Cardholder) ([]domain.Event, error) {
		return func(*domain.Cardholder) ([]domain.Event, error) {
			return []domain.Event{domain.NotificationPreferencesSet{SMSOptOut: sms}}, nil
		}
	}
	env := func() Envelope { return NewEnvelope(domain.Actor{Client: "test"}, "test") }
	_, err = a.Update(ctx, holder, nil, env(), func(*domain.Cardholder) ([]domain.Event, error) { return []domain.Event{registered}, nil })
	require.NoError(t, err) // a caches revision 0

	keyed := func() Envelope {
		e := env()
		e.CommandID = CommandIDFor("test", "key-1")
		e.Record = &AppendRecord{Row: NewIdempotency(pool, StaleIdempotencyClaim).Row("test", "key-1", []byte("hash"), 200)}
		return e
	}
	first, err := b.Update(ctx, holder, nil, keyed(), set(true)) // revision 1
	require.NoError(t, err)
	_, err = b.Update(ctx, holder, nil, env(), set(false)) // revision 2
	require.NoError(t, err)

	again, err := a.Update(ctx, holder, nil, keyed(), set(true))
	require.NoError(t, err)
	assert.True(t, again.Replayed)
	assert.Equal(t, first.Revision, again.Revision)
	assert.Equal(t, first.Position, again.Position)
	assert.Equal(t, first.Events, again.Events)
	assert.True(t, again.State.NotifyOptOut.SMS)
	cached, ok := a.p.cache.get(holder)
	require.True(t, ok)
	assert.Equal(t, uint64(2), cached.revision, "the fresh read refreshed a's copy")
}

// A cached stream grows in place only from its newest copy: a second
// append decided on the same copy (an idempotent retry the store took, a
// stale entry) gets arrays of its own and leaves the first one's events
// as they were.
func TestStreamTailExtendsInPlaceOnlyTheNewestCopy(t *testing.T) {
	loss := func(cardNo string) ([]domain.Event, []uuid.UUID) {
		return []domain.Event{domain.CardTemporarilyLost{CardNo: cardNo}}, []uuid.UUID{uuid.New()}
	}
	base, baseIDs := cachedEvents(2)
	// Arrays with room, as extend leaves them.
	events, ids := append(make([]domain.Event, 0, 8), base...), append(make([]uuid.UUID, 0, 8), baseIDs...)
	tail := &streamTail{n: 2}

	more, moreIDs := loss("A00000001")
	first, firstIDs, firstTail := tail.extend(events, more, ids, moreIDs)
	require.Same(t, tail, firstTail, "the newest copy grows in place")
	require.Same(t, &events[:3][2], &first[2], "in place")
	require.Equal(t, 3, tail.n)
	other, otherIDs := loss("A00000002")
	second, secondIDs, secondTail := tail.extend(events, other, ids, otherIDs)
	assert.NotSame(t, tail, secondTail, "an older copy gets arrays of its own")

	assert.Equal(t, append(slices.Clone(base), more...), first)
	assert.Equal(t, append(slices.Clone(baseIDs), moreIDs...), firstIDs)
	assert.Equal(t, append(slices.Clone(base), other...), second)
	assert.Equal(t, append(slices.Clone(baseIDs), otherIDs...), secondIDs)
	assert.Equal(t, base, events[:2], "what was handed out is never written")
}

// Concurrent appends decided on the same copy (go test -race): one grows
// it in place, every other gets arrays of its own, and each result holds
// its own event after the copy's.
func TestStreamTailUnderConcurrentExtends(t *testing.T) {
	base, baseIDs := cachedEvents(3)
	events, ids := append(make([]domain.Event, 0, 64), base...), append(make([]uuid.UUID, 0, 64), baseIDs...)
	tail := &streamTail{n: 3}
	const writers = 16
	results := make([][]domain.Event, writers)
	inPlace := make([]bool, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			more := []domain.Event{domain.CardTemporarilyLost{CardNo: fmt.Sprintf("A%08d", w)}}
			got, gotIDs, gotTail := tail.extend(events, more, ids, []uuid.UUID{uuid.New()})
			results[w], inPlace[w] = got, gotTail == tail
			_ = slices.Contains(gotIDs, uuid.Nil) // read what another writer may be extending
		})
	}
	wg.Wait()
	assert.Equal(t, 1, countTrue(inPlace), "in place")
	for w, got := range results {
		assert.Equal(t, append(slices.Clone(base), domain.CardTemporarilyLost{CardNo: fmt.Sprintf("A%08d", w)}), got)
	}
}

func countTrue(bs []bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
