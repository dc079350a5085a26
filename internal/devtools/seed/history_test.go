package seed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/audit"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/testpg"
)

// Given an empty store that seals personal data (piistore over pgstore,
// as `cardledger seed --lifecycles` writes), when History creates many
// people per CreateMany call from several workers, then every person's
// stream says what the one-person-per-Create path writes: the same event
// types, the same data (opened), the same metadata but for event_id and
// causation_id, occurred_at a second apart from the person's seed.Born
// (as the person's steps would be, not one instant per batch), personal
// data sealed at rest, every hash chain verifying, and seeding a person
// again fails without writing anything.
//
// event_id and causation_id differ on purpose: both derive from the
// command that creates the person (commands.EventID of its id; the
// causation defaults to it), and that id is random so that seeding the
// same person twice is an error rather than an idempotent replay. The test
// checks instead that they are that command's: one causation id per
// stream, event k's id EventID(it, stream, k).
func TestHistoryInBatchesWritesTheSameSealedVerifiableStreams(t *testing.T) {
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

// seedAndRead seeds a fresh sealed database and returns each stream's
// events as type, opened data and metadata without event_id and
// causation_id, checking on the way what the test's doc promises of one
// run: History's report, the chains, the command ids, the times, the
// sealing and the refused second seeding.
func seedAndRead(ctx context.Context, t *testing.T, persons int, opts seed.HistoryOptions) map[string][]string {
	t.Helper()
	url := testpg.NewDatabase(t)
	raw, err := pgstore.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	pool := testpg.NewPool(t, url)
	if err := piistore.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	master, err := piistore.NewMasterKey(bytes.Repeat([]byte{7}, piistore.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := piistore.NewKeyring(pool, master, nil, piistore.KeyringOptions{})
	if err != nil {
		t.Fatal(err)
	}
	store := piistore.New(raw, keys)

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
	report, err := audit.Verify(ctx, raw, audit.VerifyOptions{})
	if err != nil || !report.OK() || report.Streams != persons || report.Events != uint64(res.Events) {
		t.Errorf("verify: %+v, %v; want %d events in %d streams, no breaks", report, err, res.Events, persons)
	}
	again := opts
	again.First, again.Progress = persons/2, nil
	if _, err := seed.History(ctx, store, 1, again); !errors.Is(err, eventstore.ErrWrongRevision) {
		t.Errorf("seeding person %d again: %v, want a wrong revision", persons/2, err)
	}
	if after, _, _ := store.Head(ctx); after.Position != head.Position {
		t.Errorf("seeding a person again moved the head from %v to %v", head.Position, after.Position)
	}

	person := map[string]int{}
	for i := range persons {
		stream, _ := seed.Lifecycle(seed.HistoryKey, i, opts.Listed)
		person[stream] = i
	}
	sealed := readAll(ctx, t, raw)
	streams := map[string][]string{}
	causes := map[string]string{}
	for n, e := range readAll(ctx, t, store) {
		if e.Type == (domain.CardholderRegistered{}).EventType() {
			checkSealed(t, e, sealed[n])
		}
		var meta map[string]any
		if err := json.Unmarshal(e.Metadata, &meta); err != nil {
			t.Fatal(err)
		}
		cause, _ := meta["causation_id"].(string)
		if c, seen := causes[e.Stream]; seen && c != cause {
			t.Errorf("%s revision %d: caused by %s, earlier events by %s: want one command", e.Stream, e.Revision, cause, c)
		}
		causes[e.Stream] = cause
		cmd, err := uuid.Parse(cause)
		if err != nil || e.ID != commands.EventID(cmd, e.Stream, int(e.Revision)) || meta["event_id"] != e.ID.String() {
			t.Errorf("%s revision %d: event id %s (metadata %v), causation %q: not the id the command derives", e.Stream, e.Revision, e.ID, meta["event_id"], cause)
		}
		i, ok := person[e.Stream]
		want := seed.Born(i).Add(time.Duration(e.Revision) * time.Second)
		if at, _ := time.Parse(time.RFC3339Nano, meta["occurred_at"].(string)); !ok || !at.Equal(want) {
			t.Errorf("%s revision %d: occurred at %v, want person %d's %v", e.Stream, e.Revision, meta["occurred_at"], i, want)
		}
		delete(meta, "event_id")
		delete(meta, "causation_id")
		m, _ := json.Marshal(meta)
		if int(e.Revision) != len(streams[e.Stream]) {
			t.Fatalf("%s: revision %d after %d events", e.Stream, e.Revision, len(streams[e.Stream]))
		}
		streams[e.Stream] = append(streams[e.Stream], e.Type+" "+string(e.Data)+" "+string(m))
	}
	return streams
}

// checkSealed: the registration as stored holds the person's ID number
// and name only inside the sealed envelope.
func checkSealed(t *testing.T, opened, stored eventstore.RecordedEvent) {
	t.Helper()
	var reg domain.CardholderRegistered
	if err := json.Unmarshal(opened.Data, &reg); err != nil || reg.IDNumber == "" || reg.Name == "" {
		t.Fatalf("%s: opened registration %s: %v", opened.Stream, opened.Data, err)
	}
	if stored.ID != opened.ID || !strings.Contains(string(stored.Data), `"pii":`) ||
		strings.Contains(string(stored.Data), reg.IDNumber) || strings.Contains(string(stored.Data), reg.Name) {
		t.Errorf("%s: registration stored as %s: personal data not sealed", opened.Stream, stored.Data)
	}
}

func readAll(ctx context.Context, t *testing.T, store eventstore.Store) []eventstore.RecordedEvent {
	t.Helper()
	var all []eventstore.RecordedEvent
	for pos := eventstore.Start; ; {
		page, err := store.ReadAll(ctx, pos, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return all
		}
		all = append(all, page...)
		pos = page[len(page)-1].Position
	}
}

// countProgress counts what History reports; its workers call Add at once.
type countProgress struct {
	mu          sync.Mutex
	total, done int
}

func (p *countProgress) Phase(_ string, total int) { p.total = total }
func (p *countProgress) Add(n int)                 { p.mu.Lock(); p.done += n; p.mu.Unlock() }
func (p *countProgress) Finish()                   {}
