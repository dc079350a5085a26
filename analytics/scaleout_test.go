package analytics_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/readapi"
)

// checkpointGate is the ClickHouse connection of the instance that runs the
// projection. Once armed, it holds that instance between a batch's rows and
// its checkpoint: the moment in which rows after the checkpoint are a batch
// in flight, not the debris of a crash.
type checkpointGate struct {
	driver.Conn
	armed   atomic.Bool
	reached chan struct{} // closed when an armed checkpoint write is held
	held    sync.Once
	release chan struct{} // closed to let it go
	freed   sync.Once
}

func newCheckpointGate(conn driver.Conn) *checkpointGate {
	return &checkpointGate{Conn: conn, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *checkpointGate) PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	if g.armed.Load() && strings.HasPrefix(query, "INSERT INTO projection_checkpoints") {
		g.held.Do(func() { close(g.reached) })
		select {
		case <-g.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Conn.PrepareBatch(ctx, query, opts...)
}

func (g *checkpointGate) open() { g.freed.Do(func() { close(g.release) }) }

// The documented scale-out: a `cardledger project` worker holds the
// ClickHouse projection's lock and applies, while a `serve
// --projections=false` instance answers /readyz, /metrics and
// read-your-writes from the same databases, polled by several clients at
// once. The serving instance must only read: it used to run the
// projection's crash recovery on every status read, deleting the rows of
// the worker's batch in flight for good (the worker then stores its
// checkpoint past them), and to reload the projection's in-memory maps from
// concurrent requests (a data race, `concurrent map writes`).
func TestStatusReadsWithoutTheLockNeitherDeleteRowsNorRace(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newSystem(t)
	p := s.register(3, "320505")
	log := logrus.New()
	log.SetOutput(io.Discard)

	gate := newCheckpointGate(s.ch)
	defer gate.open()
	workerProj := analytics.NewProjection(gate)
	worker := projections.NewRunner(s.store, testpg.NewPool(t, s.pgURL), log).
		AddWithOptions(analytics.RunnerOptions(), workerProj)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- worker.Run(runCtx) }()
	defer func() { gate.open(); stop(); <-done }()
	servingPool := testpg.NewPool(t, s.pgURL)
	serving := projections.NewRunner(s.store, servingPool, log).
		AddWithOptions(analytics.RunnerOptions(), analytics.NewProjection(s.ch))
	status := httpapi.NewServer(httpapi.Options{Log: log, Auth: httpapi.StaticAuthenticator{}},
		readapi.NewAPI(servingPool, serving, []byte("scale-out-id-key"), log).Routes())

	// The worker catches up with the registration, then is held at the
	// checkpoint of the usage batch it applies next.
	waitStored(t, ctx, workerProj, s.lastWritten())
	before, _, _ := workerProj.Stored()
	gate.armed.Store(true)
	const records = 400
	s.ingest(randomUsage(rand.New(rand.NewPCG(7, 8)), "scale", records, []string{p.cardNo}))
	select {
	case <-gate.reached:
	case <-ctx.Done():
		t.Fatal("the worker never came to store a checkpoint")
	}
	inFlight := s.count("usage_facts")
	if inFlight == 0 {
		t.Fatal("the worker was held before its rows reached ClickHouse")
	}

	const clients, polls = 3, 5
	errs := make(chan error, clients*polls*3)
	var wg sync.WaitGroup
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range polls {
				errs <- readyzSeesTheStoredCheckpoint(status, before)
				errs <- metricsAnswer(status)
				// Read-your-writes cannot be satisfied while the worker is held.
				wctx, wcancel := context.WithTimeout(ctx, 20*time.Millisecond)
				if err := serving.WaitFor(wctx, s.lastWritten()); !errors.Is(err, projections.ErrNotCaughtUp) {
					errs <- fmt.Errorf("read-your-writes while the worker is held: %v, want ErrNotCaughtUp", err)
				}
				wcancel()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := s.count("usage_facts"); got != inFlight {
		t.Errorf("status reads left %d rows of the batch in flight, want %d", got, inFlight)
	}
	var mutations uint64
	if err := s.ch.QueryRow(ctx, `SELECT count() FROM system.mutations WHERE database = currentDatabase()`).
		Scan(&mutations); err != nil {
		t.Fatal(err)
	}
	if mutations != 0 {
		t.Errorf("status reads started %d mutations, want none", mutations)
	}

	// Released, the worker stores its checkpoint and the rest; the serving
	// instance's read-your-writes sees it, and every record is there once.
	gate.open()
	if err := serving.WaitFor(ctx, s.lastWritten()); err != nil {
		t.Fatal(err)
	}
	if got := s.count("usage_facts"); got != records {
		t.Fatalf("%d usage rows after the worker caught up, want %d", got, records)
	}
	var distinct uint64
	if err := s.ch.QueryRow(ctx, "SELECT uniqExact(event_id) FROM usage_facts").Scan(&distinct); err != nil {
		t.Fatal(err)
	}
	if distinct != records {
		t.Fatalf("%d distinct usage events, want %d", distinct, records)
	}
}

// readyzSeesTheStoredCheckpoint checks what GET /readyz of an instance
// without the lock reports: the projection inactive, at the checkpoint
// ClickHouse stores.
func readyzSeesTheStoredCheckpoint(srv http.Handler, want eventstore.Position) error {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var got readapi.Readiness
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		return fmt.Errorf("GET /readyz: %d %s: %w", rec.Code, rec.Body, err)
	}
	st := got.Projections
	if len(st) != 1 || st[0].Name != analytics.ProjectionName || st[0].Active || st[0].Checkpoint != want.String() {
		return fmt.Errorf("GET /readyz: %d %+v, want %s inactive at %s", rec.Code, st, analytics.ProjectionName, want)
	}
	return nil
}

// metricsAnswer checks that GET /metrics answers with the projection's gauges.
func metricsAnswer(srv http.Handler) error {
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	want := fmt.Sprintf("cardledger_projection_active{projection=%q} 0", analytics.ProjectionName)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
		return fmt.Errorf("GET /metrics: %d %s, want 200 with %s", rec.Code, rec.Body, want)
	}
	return nil
}

// waitStored waits until p has stored pos.
func waitStored(t *testing.T, ctx context.Context, p *analytics.Projection, pos eventstore.Position) {
	t.Helper()
	for {
		if at, _, _ := p.Stored(); !at.Less(pos) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("projection did not reach %s", pos)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
