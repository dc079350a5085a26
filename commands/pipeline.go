package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Pipeline is the one write path of the ledger: load an aggregate's
// stream, decide, append at the revision it loaded. Every aggregate
// (cardholder, batch, PSAM, permission request) writes through one, so all
// of them share its rules:
//   - a bounded number of attempts when another writer moved the stream
//     (DefaultAttempts), decided again each time on the new state;
//   - event ids derived from the command id (EventID), so a retried,
//     recovered or replayed command appends nothing twice, and a command
//     whose events are already in the stream answers Replayed;
//   - one metadata envelope (domain.Metadata, with the schema version of
//     each event's type) and the aggregate's own codec.
//
// A pipeline may keep a bounded cache of decoded streams (CacheStreams;
// the cardholder pipeline of Repository does), so that a command on a
// stream this process wrote recently reads nothing. Its rules:
//   - Only Run decides on the cache; Load always reads the store (and
//     refreshes a cached stream with what it read).
//   - The cache may be stale: another instance, or another pipeline of
//     this one (the batch import's CreateMany, batch jobs), may have moved
//     the stream. A decision on a cached copy is answered only when its
//     append at exactly the cached revision succeeds, which proves the
//     copy was the stream; the cache then holds the appended events too.
//     Everything else decided on a cached copy (a refusal, a no-op, an
//     If-Match mismatch, a command whose events the copy holds already) is
//     decided again on a fresh read before it is answered, and an append
//     refused at the cached revision drops the entry and decides again on
//     a fresh read, as an attempt like any other.
//   - The cache holds personal data opened (decoded events). An erasure
//     appended here replaces the stream's entry with a tombstone at once;
//     another instance's erasure drops it when the keyring hears of it
//     (Repository.Erased, given to piistore.Keyring.OnErasure by serve).
//     Until then, a copy cached before that erasure can only lead to an
//     append refused at its revision (the erasure moved the stream), so it
//     answers nothing and is dropped on use; and no copy is used longer
//     than streamCacheTTL after its events were read from the store (the
//     data keys' cache age; appends extending it keep that age).
//   - Entries are never changed once stored (a later one may extend their
//     arrays past their length: streamTail) and every command replays its
//     own state from them (Aggregate.New, Apply), so requests share no
//     state; an aggregate whose Apply writes into what an event holds must
//     not be cached.
//   - Writers whose command ids derive from the revision (Call.CommandIDAt)
//     never decide on the cache.
//
// A retried command whose events another instance appended at exactly
// the cached revision is taken by the store as an idempotent retry: the
// append says so (AppendResult.Retried, or its Idempotency-Key's row not
// written), and the command is answered from a fresh read as Replayed.
// A store that cannot always tell (eventstore.RetryReporter: EventStoreDB
// when the retry's first copy lands between its read and its send)
// answers such a retry as appended rather than Replayed, as two
// concurrent runs of it are answered without a cache.
type Pipeline[S any, C domain.Command] struct {
	kind     domain.Aggregate[S, C]
	store    eventstore.Store
	clock    func() time.Time
	attempts int
	cache    *streamCache // nil: none
	metrics  *Metrics     // nil: not counted
}

// NewPipeline returns the pipeline of aggregate kind over store; clock
// stamps OccurredAt.
func NewPipeline[S any, C domain.Command](kind domain.Aggregate[S, C], store eventstore.Store, clock func() time.Time) (*Pipeline[S, C], error) {
	if store == nil {
		return nil, fmt.Errorf("commands: the %s pipeline needs an event store", kind.Name)
	}
	if clock == nil {
		return nil, fmt.Errorf("commands: the %s pipeline needs a clock", kind.Name)
	}
	return &Pipeline[S, C]{kind: kind, store: store, clock: clock, attempts: DefaultAttempts}, nil
}

// CacheStreams gives the pipeline a cache of the last streams Run decided
// on, at most streams of them (and cachedEventsPerStream events each on
// average); 0 turns it off. Set it before the pipeline runs commands.
func (p *Pipeline[S, C]) CacheStreams(streams int) {
	p.cache = newStreamCache(streams)
}

// loadForRun returns the cached copy of stream id, replayed into a state
// of the call's own, or Load's fresh read when there is none or useCache
// is false.
func (p *Pipeline[S, C]) loadForRun(ctx context.Context, id string, useCache bool) (Stream[S], error) {
	if !useCache || p.cache == nil {
		return p.Load(ctx, id)
	}
	c, ok := p.cache.get(id)
	if !ok {
		p.metrics.streamCache(cacheMiss)
		return p.Load(ctx, id)
	}
	state := p.kind.New(id)
	for i, e := range c.events {
		if err := p.kind.Apply(state, e); err != nil {
			return Stream[S]{}, fmt.Errorf("cached %s event %d: %w", p.kind.Stream(id), i, err)
		}
	}
	p.metrics.streamCache(cacheHit)
	return Stream[S]{State: state, Exists: true, Revision: c.revision, events: c.events, ids: c.ids, tail: c.tail, cached: true, read: c.read}, nil
}

// remember caches the stream as the successful append of d on loaded left
// it, or drops what it holds of it when d erased the stream's personal
// data.
func (p *Pipeline[S, C]) remember(id string, loaded Stream[S], d decision[S]) {
	if p.cache == nil {
		return
	}
	for _, e := range d.out.Events {
		if e.EventType() == (domain.CardholderErased{}).EventType() {
			p.cache.erase(id, d.out.Revision)
			return
		}
	}
	ids := make([]uuid.UUID, len(d.data))
	for i, e := range d.data {
		ids[i] = e.ID
	}
	if uint64(len(loaded.events)+len(d.out.Events)) != d.out.Revision+1 { // revisions count from 0: not the whole stream
		return
	}
	events, all, tail := loaded.tail.extend(loaded.events, d.out.Events, loaded.eventIDs(), ids)
	p.cache.put(id, d.out.Revision, events, all, tail, loaded.read)
}

// Stream is an aggregate as read from its stream.
type Stream[S any] struct {
	State    S
	Recorded []eventstore.RecordedEvent
	Exists   bool
	Revision uint64 // of the last event; meaningless when !Exists

	events []domain.Event // Recorded decoded, or the cached events (then Recorded is nil)
	ids    []uuid.UUID    // of the cached events
	tail   *streamTail    // of the cached events and ids; nil: none
	cached bool           // from the pipeline's cache, not read: see Pipeline
	read   time.Time      // of the cached events, when they were read from the store; zero: read now
}

// eventIDs returns the ids of the stream's events.
func (l Stream[S]) eventIDs() []uuid.UUID {
	if l.cached {
		return l.ids
	}
	ids := make([]uuid.UUID, len(l.Recorded))
	for i, r := range l.Recorded {
		ids[i] = r.ID
	}
	return ids
}

func (l Stream[S]) revisionText() string {
	if !l.Exists {
		return "no stream"
	}
	return strconv.FormatUint(l.Revision, 10)
}

// Load reads and replays the stream of aggregate id. A missing stream is
// not an error: it loads as the aggregate's new state. It always reads
// the store (reads, erasure, handlers that look before they act); what it
// read refreshes a stream the pipeline's cache holds.
func (p *Pipeline[S, C]) Load(ctx context.Context, id string) (Stream[S], error) {
	stream := p.kind.Stream(id)
	recorded, err := p.store.ReadStream(ctx, stream, 0, 0)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return Stream[S]{State: p.kind.New(id)}, nil
	}
	if err != nil {
		return Stream[S]{}, fmt.Errorf("load %s: %w", stream, err)
	}
	state := p.kind.New(id)
	events := make([]domain.Event, len(recorded))
	for i, e := range recorded {
		ev, err := p.kind.DecodeStored(e.Type, e.Data, e.Metadata)
		if err != nil {
			return Stream[S]{}, fmt.Errorf("load %s revision %d: %w", stream, e.Revision, err)
		}
		if err := p.kind.Apply(state, ev); err != nil {
			return Stream[S]{}, fmt.Errorf("load %s revision %d: %w", stream, e.Revision, err)
		}
		events[i] = ev
	}
	l := Stream[S]{State: state, Recorded: recorded, Exists: len(recorded) > 0, events: events}
	if l.Exists {
		l.Revision = recorded[len(recorded)-1].Revision
		p.cache.refresh(id, l.Revision, events, l.eventIDs())
	}
	return l, nil
}

// Call is one command run through the pipeline.
type Call[S any] struct {
	Env Envelope
	// Expected is the revision the caller saw (If-Match), or nil: with it,
	// a moved stream is ErrRevisionMismatch instead of a new decision.
	Expected *uint64
	// Decide returns the events of the command on the loaded state.
	Decide func(S) ([]domain.Event, error)
	// Check, if set, must accept the loaded state and the state the events
	// leave (the caller's scope); its refusal appends nothing. A command
	// applied already is answered as it was, without it (decideOn).
	Check func(S) error
	// CommandIDAt, if set, names the command by the revision it is decided
	// at ("none" for no stream) instead of Env.CommandID: for writers whose
	// commands carry no id of their own (the batch process manager), so a
	// command re-sent after its append succeeded decides on the new state.
	CommandIDAt func(revision string) uuid.UUID
}

// Outcome is what a command did.
type Outcome[S any] struct {
	Revision uint64              // of the stream's last event after the command
	Position eventstore.Position // of the command's last event; zero if none
	Events   []domain.Event      // what the command appended
	State    S                   // after the command
	// Replayed is true when the command had already been applied (same
	// command id) and nothing was appended this time.
	Replayed bool
}

// Handle runs a typed command of the aggregate.
func (p *Pipeline[S, C]) Handle(ctx context.Context, id string, env Envelope, cmd C) (Outcome[S], error) {
	return p.Run(ctx, id, Call[S]{Env: env, Decide: func(s S) ([]domain.Event, error) { return p.kind.Decide(s, cmd) }})
}

// Run loads aggregate id, decides and appends at the revision it loaded.
// Without an expected revision it decides again on the new state when
// another writer got there first (at most DefaultAttempts times); with
// one, a moved stream is ErrRevisionMismatch. A command whose events are
// already in the stream (same command id) returns them with Replayed set
// instead of deciding again.
//
// It decides on the pipeline's cached copy of the stream when it has one
// (see Pipeline for when that copy is believed).
func (p *Pipeline[S, C]) Run(ctx context.Context, id string, call Call[S]) (Outcome[S], error) {
	stream := p.kind.Stream(id)
	// Writers whose command ids name the revision they decide at must not
	// decide at a cached, maybe older, revision: the store would take
	// their append there as a retry of the command sent at it then.
	useCache := call.CommandIDAt == nil
	for attempt := 1; ; attempt++ {
		loaded, err := p.loadForRun(ctx, id, useCache)
		if err != nil {
			return Outcome[S]{}, err
		}
		d, err := p.decideOn(id, loaded, call)
		if loaded.cached && (err != nil || d.data == nil) {
			// Only a successful append proves a cached copy current: a
			// refusal, a no-op, a replay or a revision mismatch found on
			// one is decided again on a fresh read, as another attempt
			// of nothing.
			p.metrics.streamCache(cacheRecheck)
			useCache = false
			attempt--
			continue
		}
		if err != nil || d.data == nil {
			return d.out, err
		}
		want := eventstore.NoStream()
		if loaded.Exists {
			want = eventstore.Exact(loaded.Revision)
		}
		appended, replayed, err := p.append(ctx, stream, want, d.data, d.env.Record)
		if err == nil && replayed && loaded.cached {
			// The store says the command was appended before (by another
			// instance, after this one cached the stream): answer from its
			// recorded events on a fresh read.
			p.metrics.streamCache(cacheRecheck)
			useCache = false
			attempt--
			continue
		}
		if err == nil {
			d.out.Revision, d.out.Position, d.out.Replayed = appended.Revision, appended.Position, replayed
			if !replayed {
				p.remember(id, loaded, d)
			}
			return d.out, nil
		}
		if !errors.Is(err, eventstore.ErrWrongRevision) {
			return Outcome[S]{}, fmt.Errorf("append %s: %w", stream, err)
		}
		if loaded.cached {
			p.metrics.streamCache(cacheStale)
			p.cache.dropAt(id, loaded.Revision)
			useCache = false
		}
		switch {
		case call.Expected != nil:
			return Outcome[S]{}, fmt.Errorf("%w: %w", ErrRevisionMismatch, err)
		case attempt >= p.attempts:
			return Outcome[S]{}, fmt.Errorf("%s after %d attempts: %w", stream, attempt, ErrContention)
		}
	}
}

// decision is what a command decided on a loaded stream: the outcome it
// answers and, when it appends, the envelope and events to append (nil
// when it answers without appending: a no-op or a replay).
type decision[S any] struct {
	out  Outcome[S]
	env  Envelope
	data []eventstore.EventData
}

// decideOn decides call on loaded: the scope check, the replay of an
// applied command, the If-Match revision, the decision and the check of
// the state it leaves.
func (p *Pipeline[S, C]) decideOn(id string, loaded Stream[S], call Call[S]) (decision[S], error) {
	stream := p.kind.Stream(id)
	check := func(s S) error {
		if call.Check == nil {
			return nil
		}
		if err := call.Check(s); err != nil {
			return fmt.Errorf("%s: %w", stream, err)
		}
		return nil
	}
	env := call.Env
	if call.CommandIDAt != nil {
		rev := "none"
		if loaded.Exists {
			rev = strconv.FormatUint(loaded.Revision, 10)
		}
		env.CommandID = call.CommandIDAt(rev)
	}
	// A command applied already is answered as it was, before the scope
	// check of the state as it is now: the holder may have left the
	// caller's scope since (a card replaced at another bank), and a
	// keyed retry answered by running again (a key recorded with its
	// events, see Idempotency) must still get its first answer. Only the
	// caller that ran it can name its command id, and the answer is the
	// state right after its own events, which it was answered then.
	if loaded.cached {
		// The outcome of a replay is built from the recorded events (the
		// caller reads the stream again for it).
		if slices.Contains(loaded.ids, EventID(env.CommandID, stream, 0)) {
			return decision[S]{out: Outcome[S]{Replayed: true}}, nil
		}
	} else if res, ok := p.alreadyApplied(id, loaded, env.CommandID); ok {
		return decision[S]{out: res}, nil
	}
	if err := check(loaded.State); err != nil {
		return decision[S]{}, err
	}
	if call.Expected != nil && (!loaded.Exists || loaded.Revision != *call.Expected) {
		return decision[S]{}, fmt.Errorf("%s at %s, expected %d: %w", stream, loaded.revisionText(), *call.Expected, ErrRevisionMismatch)
	}
	events, err := call.Decide(loaded.State)
	if err != nil {
		return decision[S]{}, err
	}
	if len(events) == 0 {
		return decision[S]{out: Outcome[S]{Revision: loaded.Revision, State: loaded.State}}, nil
	}
	// Applying before the append is safe: a failed append reloads, and
	// loaded.State is this call's own (never the cache's).
	for _, e := range events {
		if err := p.kind.Apply(loaded.State, e); err != nil {
			return decision[S]{}, fmt.Errorf("%s: %w", stream, err)
		}
	}
	if err := check(loaded.State); err != nil {
		return decision[S]{}, err
	}
	data, err := p.envelop(env, stream, events)
	if err != nil {
		return decision[S]{}, err
	}
	return decision[S]{out: Outcome[S]{Events: events, State: loaded.State}, env: env, data: data}, nil
}

// append appends data at want, with rec's row in the same transaction
// when rec is set and not written yet; replayed is true when the events
// were appended already (the store's idempotent retry, AppendResult.Retried,
// or the row not written: another request of the same command got there
// first). A store that cannot write the row
// (no RowAppender) gets nothing: the events must not go without it, and
// the caller learns so from eventstore.ErrRowAppendUnsupported.
func (p *Pipeline[S, C]) append(ctx context.Context, stream string, want eventstore.ExpectedRevision,
	data []eventstore.EventData, rec *AppendRecord) (res eventstore.AppendResult, replayed bool, err error) {
	if rec == nil || rec.Written {
		res, err = p.store.Append(ctx, stream, want, data)
		return res, err == nil && res.Retried, err
	}
	ra, ok := p.store.(eventstore.RowAppender)
	if !ok {
		return res, false, eventstore.ErrRowAppendUnsupported
	}
	res, rec.Written, err = ra.AppendWithRow(ctx, stream, want, data, rec.Row)
	return res, err == nil && !rec.Written, err
}

// alreadyApplied finds the events of command commandID in the loaded
// stream. The outcome is what the command's answer was: the state right
// after its events, not the state later commands left.
func (p *Pipeline[S, C]) alreadyApplied(id string, l Stream[S], commandID uuid.UUID) (Outcome[S], bool) {
	stream := p.kind.Stream(id)
	first := EventID(commandID, stream, 0)
	for i, rec := range l.Recorded {
		if rec.ID != first {
			continue
		}
		res := Outcome[S]{State: p.kind.New(id), Replayed: true}
		for j, rec := range l.Recorded {
			ours := j >= i && rec.ID == EventID(commandID, stream, j-i)
			if j >= i && !ours {
				break
			}
			ev, err := p.kind.DecodeStored(rec.Type, rec.Data, rec.Metadata)
			if err == nil {
				err = p.kind.Apply(res.State, ev)
			}
			if err != nil {
				// Load decoded and applied the same bytes already.
				panic(fmt.Sprintf("commands: %s revision %d: %v", stream, rec.Revision, err))
			}
			if ours {
				res.Events = append(res.Events, ev)
				res.Revision, res.Position = rec.Revision, rec.Position
			}
		}
		return res, true
	}
	return Outcome[S]{}, false
}

// envelop encodes events with the aggregate's codec, their metadata and
// ids derived from the command id.
func (p *Pipeline[S, C]) envelop(env Envelope, stream string, events []domain.Event) ([]eventstore.EventData, error) {
	return EncodeEvents(p.kind.Encode, env, stream, p.clock().UTC(), events)
}

// EncodeEvents is the one event envelope: each event encoded by encode,
// with id EventID(env.CommandID, stream, i) and domain.Metadata (schema
// version of its type, occurred_at now or env.OccurredAt(i), env's actor,
// channel, correlation and causation). The pipeline uses it; so does the
// batch import, which appends many cardholder streams at once. Writers of
// a stream that is no aggregate's and whose event ids derive from what
// the event records use EncodeEvent.
func EncodeEvents(encode func(domain.Event) (string, []byte, error), env Envelope, stream string, now time.Time,
	events []domain.Event) ([]eventstore.EventData, error) {
	out := make([]eventstore.EventData, len(events))
	for i, e := range events {
		at := now
		if env.OccurredAt != nil {
			at = env.OccurredAt(i)
		}
		var err error
		if out[i], err = encodeEvent(encode, env, EventID(env.CommandID, stream, i), at, e); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// EncodeEvent is EncodeEvents for one event whose id its writer names:
// a card-number reservation (the command and the holder), a usage record
// (domain.UsageEventID of the sender's record id), a signed digest's
// announcement (its signature), so the same record is always the same
// event. Such writers may leave env.CommandID zero (uuid.Nil): their
// events then carry no causation id unless env names one. The event
// occurs at now, or env.OccurredAt(0) if set.
func EncodeEvent(encode func(domain.Event) (string, []byte, error), env Envelope, id uuid.UUID, now time.Time,
	e domain.Event) (eventstore.EventData, error) {
	if env.OccurredAt != nil {
		now = env.OccurredAt(0)
	}
	return encodeEvent(encode, env, id, now, e)
}

func encodeEvent(encode func(domain.Event) (string, []byte, error), env Envelope, id uuid.UUID, now time.Time,
	e domain.Event) (eventstore.EventData, error) {
	typ, data, err := encode(e)
	if err != nil {
		return eventstore.EventData{}, err
	}
	version := domain.SchemaVersion(typ)
	if v, ok := e.(OwnVersion); ok && version == 0 {
		version = v.SchemaVersion()
	}
	md, err := domain.EncodeMetadata(metadataFor(env, id.String(), version, now))
	if err != nil {
		return eventstore.EventData{}, fmt.Errorf("metadata of %s: %w", typ, err)
	}
	return eventstore.EventData{ID: id, Type: typ, Data: data, Metadata: md}, nil
}

// OwnVersion is an event of a type no domain codec knows (the card-number
// reservation, audit's digest announcement): it names the schema version
// its metadata records itself.
type OwnVersion interface {
	domain.Event
	SchemaVersion() int
}

// EncodeJSON is the codec of events no domain codec knows (OwnVersion
// types, usage records): their EventType and their JSON.
func EncodeJSON(e domain.Event) (string, []byte, error) {
	data, err := json.Marshal(e)
	return e.EventType(), data, err
}

// metadataFor is the one place domain.Metadata is filled. The causation id
// defaults to the command id, if there is one.
func metadataFor(env Envelope, eventID string, schemaVersion int, now time.Time) domain.Metadata {
	causation := env.CausationID
	if causation == "" && env.CommandID != uuid.Nil {
		causation = env.CommandID.String()
	}
	return domain.Metadata{
		EventID:       eventID,
		SchemaVersion: schemaVersion,
		OccurredAt:    now,
		Actor:         env.Actor,
		Channel:       env.Channel,
		CorrelationID: env.CorrelationID,
		CausationID:   causation,
		RemoteAddr:    env.RemoteAddr,
	}
}
