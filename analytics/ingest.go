package analytics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// MaxUsageBatch is the most records one ingest call takes.
const MaxUsageBatch = 10000

// CardDirectory tells which card numbers exist. Card numbers are never
// reused, so a "yes" may be cached forever.
type CardDirectory interface {
	// KnownCards returns the subset of cardNos that were ever assigned.
	KnownCards(ctx context.Context, cardNos []string) (map[string]bool, error)
}

// RecordError is a refused record: its index in the batch and what is wrong.
type RecordError struct {
	Index  int
	Fields []domain.FieldError
}

// IngestResult counts what an ingest call did with its records.
type IngestResult struct {
	Recorded   int           // new events written
	Duplicates int           // records already stored (same id), written nothing
	Rejected   []RecordError // in index order
	// Position is the global position of the last event this call wrote
	// (eventstore.Start if it wrote none), for read-your-writes waits.
	Position eventstore.Position
}

// Ingester validates usage records and appends them to per card-month
// usage streams (domain.UsageStream). Each record becomes one event with id
// domain.UsageEventID(record id); before appending, the ingester reads the
// target stream and leaves out ids it already holds, and appends with the
// stream's exact revision, so concurrent or repeated batches never store a
// record twice. A card-month's new events go in appends of at most
// eventstore.MaxAppendSize bytes (EventStoreDB refuses larger ones): up to
// MaxUsageBatch records of one card-month are several MiB.
//
// A record id already used for another card or month is refused
// (duplicate_id) only where the store keeps event ids unique store-wide
// (eventstore.UniqueEventIDs: PostgreSQL). On EventStoreDB ids are unique
// per stream only, and such a record is stored in its own card-month.
type Ingester struct {
	store       eventstore.Store
	cards       CardDirectory
	now         func() time.Time
	parallelism int
	metrics     *IngestMetrics // nil: not counted
}

// NewIngester returns an ingester writing to store. now is the clock used
// to refuse records from the future (nil: time.Now).
func NewIngester(store eventstore.Store, cards CardDirectory, now func() time.Time) *Ingester {
	if now == nil {
		now = time.Now
	}
	return &Ingester{store: store, cards: cards, now: now, parallelism: DefaultIngestParallelism}
}

// DefaultIngestParallelism is how many usage streams an ingest call writes
// at once. Each append is its own transaction, so throughput comes from
// concurrency (the database groups the commits): give the event store's
// pool at least this many connections (pgx URL: pool_max_conns=32).
const DefaultIngestParallelism = 32

// WithParallelism sets how many streams an ingest call writes at once.
func (in *Ingester) WithParallelism(n int) *Ingester {
	if n > 0 {
		in.parallelism = n
	}
	return in
}

// WithMetrics counts the records ingested in m.
func (in *Ingester) WithMetrics(m *IngestMetrics) *Ingester {
	in.metrics = m
	return in
}

// Ingest validates and stores records. With allOrNothing, one invalid
// record rejects the batch and nothing is written; otherwise the good
// records are stored and the bad ones reported. actor names the sending
// system.
//
// Ingest is not one transaction: records are written per card-month, each
// card-month in one or more appends. If the store fails part-way, Ingest
// returns the error with some records stored; sending the same batch again
// stores the rest and counts the others as duplicates, since every record
// is stored under an id derived from its own.
func (in *Ingester) Ingest(ctx context.Context, records []domain.UsageInput, allOrNothing bool, actor domain.Actor) (IngestResult, error) {
	res, err := in.ingest(ctx, records, allOrNothing, actor)
	in.metrics.observe(res)
	return res, err
}

func (in *Ingester) ingest(ctx context.Context, records []domain.UsageInput, allOrNothing bool, actor domain.Actor) (IngestResult, error) {
	if len(records) > MaxUsageBatch {
		return IngestResult{}, fmt.Errorf("%w: %d records, at most %d", ErrBatchTooLarge, len(records), MaxUsageBatch)
	}
	now := in.now()
	var res IngestResult
	parsed := make([]domain.UsageRecorded, len(records))
	ok := make([]bool, len(records))
	byID := make(map[string]int, len(records))
	for i, r := range records {
		u, errs := domain.ParseUsage(r, now)
		if len(errs) > 0 {
			res.Rejected = append(res.Rejected, RecordError{Index: i, Fields: errs})
			continue
		}
		if j, seen := byID[u.RecordID]; seen {
			if !sameUsage(parsed[j], u) {
				res.Rejected = append(res.Rejected, RecordError{Index: i, Fields: []domain.FieldError{{
					Field: "id", Code: CodeDuplicateID,
					Message: fmt.Sprintf("record id also used by record %d with different content", j),
				}}})
			} else {
				res.Duplicates++
			}
			continue
		}
		byID[u.RecordID] = i
		parsed[i], ok[i] = u, true
	}
	if err := in.checkCards(ctx, parsed, ok, &res); err != nil {
		return IngestResult{}, err
	}
	sort.Slice(res.Rejected, func(a, b int) bool { return res.Rejected[a].Index < res.Rejected[b].Index })
	if allOrNothing && len(res.Rejected) > 0 {
		res.Duplicates = 0
		return res, nil
	}
	groups := make(map[string][]int)
	for i := range parsed {
		if ok[i] {
			s := domain.UsageStream(parsed[i].CardNo, parsed[i].At)
			groups[s] = append(groups[s], i)
		}
	}
	written, dups, rejected, last, err := in.appendGroups(ctx, groups, parsed, actor)
	if err != nil {
		return IngestResult{}, err
	}
	res.Position = last
	res.Recorded += written
	res.Duplicates += dups
	if len(rejected) > 0 {
		res.Rejected = append(res.Rejected, rejected...)
		sort.Slice(res.Rejected, func(a, b int) bool { return res.Rejected[a].Index < res.Rejected[b].Index })
	}
	return res, nil
}

// ErrBatchTooLarge: more than MaxUsageBatch records in one call.
var ErrBatchTooLarge = errors.New("usage batch too large")

// Codes of per-record errors the ingester adds to domain.ParseUsage's.
const (
	CodeDuplicateID = "duplicate_id" // the id names a different record already
)

func sameUsage(a, b domain.UsageRecorded) bool {
	return a.RecordID == b.RecordID && a.CardNo == b.CardNo && a.At.Equal(b.At) && a.Kind == b.Kind &&
		a.Amount.Equal(b.Amount) && a.RegionCode == b.RegionCode && a.Merchant == b.Merchant &&
		a.Category == b.Category && a.Channel == b.Channel
}

func (in *Ingester) checkCards(ctx context.Context, parsed []domain.UsageRecorded, ok []bool, res *IngestResult) error {
	seen := make(map[string]bool)
	var nos []string
	for i := range parsed {
		if ok[i] && !seen[parsed[i].CardNo] {
			seen[parsed[i].CardNo] = true
			nos = append(nos, parsed[i].CardNo)
		}
	}
	if len(nos) == 0 {
		return nil
	}
	known, err := in.cards.KnownCards(ctx, nos)
	if err != nil {
		return fmt.Errorf("look up cards: %w", err)
	}
	for i := range parsed {
		if ok[i] && !known[parsed[i].CardNo] {
			ok[i] = false
			res.Rejected = append(res.Rejected, RecordError{Index: i, Fields: []domain.FieldError{{
				Field: "card_no", Code: domain.CodeCardNotFound, Message: "no card with this number exists",
			}}})
		}
	}
	return nil
}

// appendGroups appends each stream's records, several streams at a time.
func (in *Ingester) appendGroups(ctx context.Context, groups map[string][]int, parsed []domain.UsageRecorded,
	actor domain.Actor) (written, dups int, rejected []RecordError, last eventstore.Position, err error) {
	streams := make([]string, 0, len(groups))
	for s := range groups {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		first error
		next  = make(chan string)
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for w := 0; w < min(in.parallelism, len(streams)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := range next {
				n, d, rej, pos, err := in.appendStream(ctx, s, groups[s], parsed, actor)
				mu.Lock()
				written, dups, rejected = written+n, dups+d, append(rejected, rej...)
				if last.Less(pos) {
					last = pos
				}
				if err != nil && first == nil {
					first = err
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, s := range streams {
		select {
		case next <- s:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return 0, 0, nil, last, first
	}
	return written, dups, rejected, last, ctx.Err()
}

// appendStream stores the records idx of one usage stream, leaving out
// those already there. A card-month can hold more than one append may
// carry (eventstore.MaxAppendSize), so the new events go in consecutive
// appends of at most that size, each at the revision the one before it
// left. A concurrent writer to the same stream makes an append fail on the
// revision; the stream is then read again and the rest retried. What this
// call wrote itself is remembered, so it is never counted as a duplicate.
func (in *Ingester) appendStream(ctx context.Context, stream string, idx []int, parsed []domain.UsageRecorded,
	actor domain.Actor) (written, dups int, rejected []RecordError, last eventstore.Position, err error) {
	mine := make(map[uuid.UUID]bool)    // written by this call
	refused := make(map[uuid.UUID]bool) // rejected by this call
	for attempt := 0; attempt < 20; attempt++ {
		stored, err := in.store.ReadStream(ctx, stream, 0, 0)
		expected := eventstore.NoStream()
		switch {
		case errors.Is(err, eventstore.ErrStreamNotFound):
		case err != nil:
			return 0, 0, nil, last, fmt.Errorf("read %s: %w", stream, err)
		case len(stored) > 0:
			expected = eventstore.Exact(stored[len(stored)-1].Revision)
		}
		have := make(map[uuid.UUID]bool, len(stored))
		for _, e := range stored {
			have[e.ID] = true
		}
		var events []eventstore.EventData
		var fresh []int
		dups = 0
		for _, i := range idx {
			id := domain.UsageEventID(parsed[i].RecordID)
			switch {
			case refused[id], have[id] && mine[id]:
			case have[id]:
				dups++
			default:
				ev, err := usageEvent(parsed[i], actor)
				if err != nil {
					return 0, 0, nil, last, err
				}
				events, fresh = append(events, ev), append(fresh, i)
			}
		}
		done := true
		for _, run := range eventstore.SplitBySize(events, eventstore.MaxAppendSize) {
			runIdx := fresh[:len(run)]
			fresh = fresh[len(run):]
			res, err := in.store.Append(ctx, stream, expected, run)
			switch {
			case err == nil:
				for _, e := range run {
					mine[e.ID] = true
				}
				written += len(run)
				expected, last = eventstore.Exact(res.Revision), res.Position
				continue
			case errors.Is(err, eventstore.ErrWrongRevision):
			case errors.Is(err, eventstore.ErrDuplicateEventID):
				// Only a store with ids unique store-wide says so; the
				// stream's revision moves, so read it again after.
				n, rej, pos, err := in.appendOneByOne(ctx, stream, runIdx, run, mine, refused)
				if err != nil {
					return 0, 0, nil, last, err
				}
				written, rejected = written+n, append(rejected, rej...)
				if last.Less(pos) {
					last = pos
				}
			default:
				return 0, 0, nil, last, err
			}
			done = false
			break
		}
		if done {
			return written, dups, rejected, last, nil
		}
	}
	return 0, 0, nil, last, fmt.Errorf("append %s: too many concurrent writers", stream)
}

// appendOneByOne finds which records reuse an id stored in another stream
// (the same record id with another card or month): those are refused, the
// rest stored. It notes each id in mine or refused.
func (in *Ingester) appendOneByOne(ctx context.Context, stream string, idx []int, events []eventstore.EventData,
	mine, refused map[uuid.UUID]bool) (written int, rejected []RecordError, last eventstore.Position, err error) {
	for k, ev := range events {
		res, err := in.store.Append(ctx, stream, eventstore.Any(), []eventstore.EventData{ev})
		switch {
		case err == nil:
			written++
			last = res.Position
			mine[ev.ID] = true
		case errors.Is(err, eventstore.ErrDuplicateEventID):
			refused[ev.ID] = true
			rejected = append(rejected, RecordError{Index: idx[k], Fields: []domain.FieldError{{
				Field: "id", Code: CodeDuplicateID, Message: "record id was already used for a different record",
			}}})
		default:
			return 0, nil, last, fmt.Errorf("append %s: %w", stream, err)
		}
	}
	return written, rejected, last, nil
}

// usageEvent is record u as an event: id domain.UsageEventID(record id),
// occurred at the time of use, no command (so no causation id).
func usageEvent(u domain.UsageRecorded, actor domain.Actor) (eventstore.EventData, error) {
	ev, err := commands.EncodeEvent(commands.EncodeJSON, commands.Envelope{Actor: actor, Channel: "http"},
		domain.UsageEventID(u.RecordID), u.At, u)
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("encode usage %s: %w", u.RecordID, err)
	}
	return ev, nil
}
