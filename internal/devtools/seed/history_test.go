package seed_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/cardledger/cardledger/audit"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/testpg"
)

// Given an empty store, when History appends many people per AppendMany
// call from several workers, then every stream holds the same events as
// the one-append-per-person path writes, the result names the store's head,
// and every stream's hash chain verifies.
func TestHistoryInBatchesWritesTheSameVerifiableStreams(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const persons = 230 // not a multiple of the batch: the last call is short
	want := seedAndRead(ctx, t, persons, seed.HistoryOptions{Batch: 1, Concurrency: 1})
	got := seedAndRead(ctx, t, persons, seed.HistoryOptions{Batch: 40, Concurrency: 3})
	if len(got) != persons || len(want) != persons {
		t.Fatalf("%d streams batched, %d one by one, want %d each", len(got), len(want), persons)
	}
	for stream, w := range want {
		g := got[stream]
		if len(g) != len(w) {
			t.Errorf("%s: %d events batched, %d one by one", stream, len(g), len(w))
			continue
		}
		for k := range w {
			if g[k] != w[k] {
				t.Errorf("%s revision %d: batched %s, one by one %s", stream, k, g[k], w[k])
			}
		}
	}
}

// seedAndRead seeds a fresh database and returns each stream's events as
// type, data and metadata without the (random) event id, checking on the way
// that History reports what the store holds and that the chains verify.
func seedAndRead(ctx context.Context, t *testing.T, persons int, opts seed.HistoryOptions) map[string][]string {
	t.Helper()
	store, err := pgstore.Open(ctx, testpg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	progress := &countProgress{}
	opts.Progress = progress
	res, err := seed.History(ctx, store, persons, opts)
	if err != nil {
		t.Fatal(err)
	}
	if progress.done != persons || progress.total != persons {
		t.Errorf("progress %d of %d, want %d of %d", progress.done, progress.total, persons, persons)
	}
	head, ok, err := store.Head(ctx)
	if err != nil || !ok || head.Position != res.Last {
		t.Errorf("head %v (%v, %v), History's last %v", head.Position, ok, err, res.Last)
	}
	report, err := audit.Verify(ctx, store, audit.VerifyOptions{})
	if err != nil || !report.OK() || report.Streams != persons || report.Events != uint64(res.Events) {
		t.Errorf("verify: %+v, %v; want %d events in %d streams, no breaks", report, err, res.Events, persons)
	}
	streams := map[string][]string{}
	for pos := eventstore.Start; ; {
		page, err := store.ReadAll(ctx, pos, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			var meta map[string]any
			if err := json.Unmarshal(e.Metadata, &meta); err != nil {
				t.Fatal(err)
			}
			delete(meta, "event_id")
			m, _ := json.Marshal(meta)
			if int(e.Revision) != len(streams[e.Stream]) {
				t.Fatalf("%s: revision %d after %d events", e.Stream, e.Revision, len(streams[e.Stream]))
			}
			streams[e.Stream] = append(streams[e.Stream], e.Type+" "+string(e.Data)+" "+string(m))
		}
		pos = page[len(page)-1].Position
	}
	return streams
}

// countProgress counts what History reports; its workers call Add at once.
type countProgress struct {
	mu          sync.Mutex
	total, done int
}

func (p *countProgress) Phase(_ string, total int) { p.total = total }
func (p *countProgress) Add(n int)                 { p.mu.Lock(); p.done += n; p.mu.Unlock() }
func (p *countProgress) Finish()                   {}
