package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// env is a PostgreSQL event store and the audit schema on one database.
type env struct {
	t     *testing.T
	ctx   context.Context
	store *pgstore.Store
	pool  *pgxpool.Pool
	key   ed25519.PrivateKey
	last  eventstore.Position // of the last append

	lastProblem httpapi.Problem // of the last get that failed
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	url := testpg.NewDatabase(t)
	store := pgstoretest.OpenURL(t, url)
	pool := testpg.NewPool(t, url)
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	return &env{t: t, ctx: ctx, store: store, pool: pool, key: key}
}

// appendN appends n events to stream, each by actor from addr.
func (e *env) appendN(stream string, n int, actor domain.Actor, addr string) {
	e.t.Helper()
	for i := range n {
		md, _ := json.Marshal(domain.Metadata{Actor: actor, Channel: "http", RemoteAddr: addr,
			CorrelationID: "corr-" + stream, CausationID: fmt.Sprintf("cause-%d", i), OccurredAt: time.Now().UTC()})
		res, err := e.store.Append(e.ctx, stream, eventstore.Any(), []eventstore.EventData{
			{ID: uuid.New(), Type: "Tested", Data: fmt.Appendf(nil, `{"i":%d}`, i), Metadata: md},
		})
		if err != nil {
			e.t.Fatal(err)
		}
		e.last = res.Position
	}
	e.settle()
}

// settle waits until $all shows the last append: it lags while other
// tests' transactions run anywhere in the cluster (see pgstore).
func (e *env) settle() {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h, ok, err := e.store.Head(e.ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		if ok && !h.Position.Less(e.last) {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("$all does not reach %s", e.last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// project runs the audit projection over everything stored.
func (e *env) project() {
	e.t.Helper()
	if err := CatchUp(e.ctx, e.store, NewProjection(e.pool)); err != nil {
		e.t.Fatal(err)
	}
}

// tamper runs sql as an attacker with DBA rights: with the append-only
// trigger disabled.
func (e *env) tamper(sql string, args ...any) {
	e.t.Helper()
	tx, err := e.pool.Begin(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	defer tx.Rollback(e.ctx)
	for _, s := range []string{`ALTER TABLE eventstore_events DISABLE TRIGGER eventstore_events_no_change`} {
		if _, err := tx.Exec(e.ctx, s); err != nil {
			e.t.Fatal(err)
		}
	}
	tag, err := tx.Exec(e.ctx, sql, args...)
	if err != nil || tag.RowsAffected() != 1 {
		e.t.Fatalf("%s: %v, %d rows", sql, err, tag.RowsAffected())
	}
	if _, err := tx.Exec(e.ctx, `ALTER TABLE eventstore_events ENABLE TRIGGER eventstore_events_no_change`); err != nil {
		e.t.Fatal(err)
	}
	if err := tx.Commit(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}
