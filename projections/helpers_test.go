package projections_test

import (
	"context"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

type env struct {
	url   string
	store *pgstore.Store
	pool  *pgxpool.Pool
	log   *logrus.Logger

	mu   sync.Mutex
	last eventstore.Position // greatest position appended by the test
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return openEnv(t, testpg.NewDatabase(t))
}

// openEnv opens the store and read model of the database at url.
func openEnv(t testing.TB, url string) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := pgstoretest.OpenURL(t, url)
	pool := testpg.NewPool(t, url)
	if err := readmodel.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	return &env{url: url, store: store, pool: pool, log: log}
}

func (e *env) runner() *projections.Runner {
	return projections.NewRunner(e.store, e.pool, e.log).
		WithOptions(projections.Options{LockPoll: 50 * time.Millisecond, Retry: 50 * time.Millisecond}).
		Add(readmodel.All(e.pool)...)
}

// start runs a runner until the test ends (or stop is called).
func (e *env) start(t *testing.T, r *projections.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	stop = func() {
		cancel()
		<-done
	}
	t.Cleanup(stop)
	return stop
}

// seed appends synthetic lifecycles and waits until $all shows all of them
// (the PostgreSQL store holds $all back while older transactions anywhere
// in the cluster run, e.g. other tests creating databases).
func (e *env) seed(t *testing.T, persons int, opts seed.HistoryOptions) seed.HistoryResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := seed.History(ctx, e.store, persons, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.noteAppended(res.Last)
	e.waitVisible(t, res.Last)
	return res
}

func (e *env) noteAppended(pos eventstore.Position) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.last.Less(pos) {
		e.last = pos
	}
}

func (e *env) waitVisible(t testing.TB, pos eventstore.Position) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		h, ok, err := e.store.Head(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if ok && !h.Position.Less(pos) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("position %s not visible in $all after 30s", pos)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCaughtUp waits until r has applied everything this test appended.
func (e *env) waitCaughtUp(t *testing.T, r *projections.Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.mu.Lock()
	last := e.last
	e.mu.Unlock()
	if err := r.WaitFor(ctx, last); err != nil {
		t.Fatal(err)
	}
}

// appendEvents appends domain events to the stream of cardholder id.
func (e *env) appendEvents(t *testing.T, stream string, events ...domain.Event) eventstore.AppendResult {
	t.Helper()
	data, err := commands.EncodeEvents(domain.EncodeEvent, commands.NewEnvelope(domain.Actor{Client: "test"}, "test"), stream, time.Now().UTC(), events)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.store.Append(context.Background(), stream, eventstore.Any(), data)
	if err != nil {
		t.Fatal(err)
	}
	e.noteAppended(res.Position)
	return res
}

// expectedBlacklist replays every cardholder stream of the store with the
// domain's own Apply and lists the cards whose status is blacklisted.
func expectedBlacklist(t *testing.T, store eventstore.Store) map[string]string {
	t.Helper()
	events, err := store.ReadAll(context.Background(), eventstore.Start, 0)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]*domain.Cardholder{}
	for _, ev := range events {
		e, err := domain.DecodeStoredEvent(ev.Type, ev.Data, ev.Metadata)
		if err != nil {
			continue
		}
		st := states[ev.Stream]
		if st == nil {
			st = domain.NewCardholder(ev.Stream)
			states[ev.Stream] = st
		}
		st.Apply(e)
	}
	listed := map[string]string{}
	for _, st := range states {
		cards := slices.Clone(st.PastCards)
		if st.Card != nil {
			cards = append(cards, *st.Card)
		}
		for _, c := range cards {
			if c.CardNo != "" && c.Status.Blacklisted() {
				listed[c.CardNo] = string(c.Status)
			}
		}
	}
	return listed
}

// tableBlacklist reads the blacklist table as card → status part of the reason.
func tableBlacklist(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT card_no, split_part(reason, ':', 1) FROM readmodel.blacklist")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, r string
		if err := rows.Scan(&c, &r); err != nil {
			t.Fatal(err)
		}
		out[c] = r
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
