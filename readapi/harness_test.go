package readapi_test

import (
	"context"
	"encoding/json"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"io"
	"net/http"
	"net/http/httptest"
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
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
	"github.com/cardledger/cardledger/readapi"
)

// API keys of the test server, one per role.
const (
	keyAdmin    = "key-admin"
	keyCounter  = "key-counter"
	keyAnalyst  = "key-analyst"
	keyConsumer = "key-consumer"
	keyBank     = "key-bank"
)

type harness struct {
	t      testing.TB
	store  *pgstore.Store
	pool   *pgxpool.Pool
	url    string        // the primary's database
	rpool  *pgxpool.Pool // the replica's, nil without one
	log    *logrus.Logger
	api    *readapi.API
	runner *projections.Runner
	srv    *httptest.Server

	mu      sync.Mutex
	last    eventstore.Position
	stopRun func()
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	url := testpg.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store := pgstoretest.OpenURL(t, url)
	pool := testpg.NewPool(t, url)
	if err := readmodel.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetLevel(logrus.WarnLevel)
	h := &harness{t: t, store: store, pool: pool, url: url, log: log}
	h.runner = h.newRunner()
	h.api = readapi.NewAPI(pool, h.runner, seed.HistoryKey, log)
	// With a replica (`make test` always has one), every read test reads
	// through it, as `serve --postgres-read-url` does.
	if testpg.ReadServerURL() != "" {
		h.rpool = testpg.NewPool(t, testpg.ReplicaDatabase(t, url))
		h.api.WithReplica(h.rpool)
	}
	auth := httpapi.StaticAuthenticator{
		keyAdmin:    {Client: "admin", Role: httpapi.RoleAdmin},
		keyCounter:  {Client: "counter", Role: httpapi.RoleCounter},
		keyAnalyst:  {Client: "analyst", Role: httpapi.RoleAnalyst},
		keyConsumer: {Client: "pos", Role: httpapi.RoleBlacklistConsumer},
		keyBank:     {Client: "bank", Role: httpapi.RoleBank},
	}
	h.srv = httptest.NewServer(httpapi.NewServer(httpapi.Options{Auth: auth, Log: log}, h.api.Routes()))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) newRunner() *projections.Runner {
	return projections.NewRunner(h.store, h.pool, h.log).
		WithOptions(projections.Options{LockPoll: 20 * time.Millisecond, Retry: 50 * time.Millisecond}).
		Add(readmodel.All(h.pool)...)
}

// run starts the projections runner; stop ends it (the lock is released).
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = h.runner.Run(ctx)
	}()
	h.stopRun = func() { cancel(); <-done }
	h.t.Cleanup(func() { h.stop() })
}

func (h *harness) stop() {
	if h.stopRun != nil {
		h.stopRun()
		h.stopRun = nil
	}
}

func (h *harness) note(pos eventstore.Position) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last.Less(pos) {
		h.last = pos
	}
}

func (h *harness) seed(persons int, opts seed.HistoryOptions) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := seed.History(ctx, h.store, persons, opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.note(res.Last)
}

func (h *harness) appendEvents(stream string, events ...domain.Event) eventstore.Position {
	h.t.Helper()
	data, err := commands.EncodeEvents(domain.EncodeEvent, commands.NewEnvelope(domain.Actor{Client: "test"}, "test"), stream, time.Now().UTC(), events)
	if err != nil {
		h.t.Error(err)
		return eventstore.Position{}
	}
	res, err := h.store.Append(context.Background(), stream, eventstore.Any(), data)
	if err != nil {
		h.t.Error(err)
		return eventstore.Position{}
	}
	h.note(res.Position)
	return res.Position
}

// caughtUp waits until the read model holds everything appended so far.
func (h *harness) caughtUp() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h.mu.Lock()
	last := h.last
	h.mu.Unlock()
	if err := h.runner.WaitFor(ctx, last); err != nil {
		h.t.Fatal(err)
	}
	h.replicaSynced()
}

// replicaSynced waits until the replica (if any) has replayed everything
// written on the primary so far.
func (h *harness) replicaSynced() {
	h.t.Helper()
	if h.rpool != nil {
		testpg.WaitReplica(h.t, h.url)
	}
}

// get sends GET path with key and returns status, content type and body.
func (h *harness) get(key, path string, header ...string) (int, string, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.srv.URL+path, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return res.StatusCode, res.Header.Get("Content-Type"), body
}

// getJSON GETs path, requires status want and decodes the body into v.
func (h *harness) getJSON(key, path string, want int, v any) {
	h.t.Helper()
	status, _, body := h.get(key, path)
	if status != want {
		h.t.Fatalf("GET %s: status %d, want %d: %s", path, status, want, body)
	}
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			h.t.Fatalf("GET %s: %v: %s", path, err, body)
		}
	}
}

// expectedBlacklist replays every stream with the domain's Apply: the
// blacklist the event history says, card → reason status.
func (h *harness) expectedBlacklist() map[string]string {
	h.t.Helper()
	events, err := h.store.ReadAll(context.Background(), eventstore.Start, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	states := map[string]*domain.Cardholder{}
	for _, ev := range events {
		e, err := domain.DecodeStoredEvent(ev.Type, ev.Data, ev.Metadata)
		if err != nil {
			continue
		}
		if states[ev.Stream] == nil {
			states[ev.Stream] = domain.NewCardholder(ev.Stream)
		}
		states[ev.Stream].Apply(e)
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
