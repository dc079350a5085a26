package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

var (
	// ErrRevisionMismatch: the command named an expected revision (If-Match)
	// and the stream is elsewhere. Never retried.
	ErrRevisionMismatch = errors.New("the cardholder changed since the expected revision")
	// ErrContention: the stream kept moving under the command for every
	// attempt. Rare; the client may retry.
	ErrContention = errors.New("too many concurrent changes to the cardholder")
)

// DefaultAttempts bounds how often Update decides again after another
// writer moved the stream.
const DefaultAttempts = 8

// Repository loads cardholders from an event store and appends what they
// decide. Update is the only place that retries on concurrent writes.
type Repository struct {
	store    eventstore.Store
	clock    func() time.Time
	attempts int
}

// NewRepository returns a repository over store; clock stamps OccurredAt.
func NewRepository(store eventstore.Store, clock func() time.Time) (*Repository, error) {
	if store == nil {
		return nil, errors.New("commands: repository needs an event store")
	}
	if clock == nil {
		return nil, errors.New("commands: repository needs a clock")
	}
	return &Repository{store: store, clock: clock, attempts: DefaultAttempts}, nil
}

// Loaded is a cardholder as read from its stream.
type Loaded struct {
	State    *domain.Cardholder
	Recorded []eventstore.RecordedEvent
	Exists   bool
	Revision uint64 // of the last event; meaningless when !Exists
}

// Load reads and replays the stream of cardholderID. A missing stream is
// not an error: it loads as the empty, unregistered cardholder.
func (r *Repository) Load(ctx context.Context, cardholderID string) (Loaded, error) {
	stream := domain.StreamFor(cardholderID)
	recorded, err := r.store.ReadStream(ctx, stream, 0, 0)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return Loaded{State: domain.NewCardholder(cardholderID)}, nil
	}
	if err != nil {
		return Loaded{}, fmt.Errorf("load %s: %w", stream, err)
	}
	state := domain.NewCardholder(cardholderID)
	for _, e := range recorded {
		ev, err := domain.DecodeStoredEvent(e.Type, e.Data, e.Metadata)
		if err != nil {
			return Loaded{}, fmt.Errorf("load %s revision %d: %w", stream, e.Revision, err)
		}
		state.Apply(ev)
	}
	l := Loaded{State: state, Recorded: recorded, Exists: len(recorded) > 0}
	if l.Exists {
		l.Revision = recorded[len(recorded)-1].Revision
	}
	return l, nil
}

// Result is the outcome of a command.
type Result struct {
	CardholderID string
	Revision     uint64              // of the stream's last event after the command
	Position     eventstore.Position // of the command's last event
	Events       []domain.Event      // what the command appended
	State        *domain.Cardholder  // after the command
	// Replayed is true when the command had already been applied (same
	// command id) and nothing was appended this time.
	Replayed bool
}

// Update runs one command on the cardholder: load, decide, append at the
// revision it loaded. Without an expected revision it decides again on the
// new state when another writer got there first (at most DefaultAttempts
// times); with one, a moved stream is ErrRevisionMismatch. A command whose
// events are already in the stream (same env.CommandID) returns them with
// Replayed set instead of deciding again.
func (r *Repository) Update(ctx context.Context, cardholderID string, expected *uint64, env Envelope,
	decide func(*domain.Cardholder) ([]domain.Event, error)) (Result, error) {
	stream := domain.StreamFor(cardholderID)
	for attempt := 1; ; attempt++ {
		loaded, err := r.Load(ctx, cardholderID)
		if err != nil {
			return Result{}, err
		}
		if err := checkScope(env.Scope, loaded.State); err != nil {
			return Result{}, fmt.Errorf("%s: %w", stream, err)
		}
		if res, ok := alreadyApplied(loaded, env, stream); ok {
			return res, nil
		}
		if expected != nil && (!loaded.Exists || loaded.Revision != *expected) {
			return Result{}, fmt.Errorf("%s at %s, expected %d: %w", stream, revisionText(loaded), *expected, ErrRevisionMismatch)
		}
		events, err := decide(loaded.State)
		if err != nil {
			return Result{}, err
		}
		if len(events) == 0 {
			return Result{CardholderID: cardholderID, Revision: loaded.Revision, State: loaded.State}, nil
		}
		// The state after the command must be in scope too (a registration
		// in another region, an application for another bank). Applying
		// before the append is safe: a failed append reloads.
		for _, e := range events {
			loaded.State.Apply(e)
		}
		if err := checkScope(env.Scope, loaded.State); err != nil {
			return Result{}, fmt.Errorf("%s: %w", stream, err)
		}
		data, err := r.envelop(env, stream, events)
		if err != nil {
			return Result{}, err
		}
		want := eventstore.NoStream()
		if loaded.Exists {
			want = eventstore.Exact(loaded.Revision)
		}
		appended, err := r.store.Append(ctx, stream, want, data)
		switch {
		case err == nil:
			return Result{
				CardholderID: cardholderID, Revision: appended.Revision, Position: appended.Position,
				Events: events, State: loaded.State,
			}, nil
		case !errors.Is(err, eventstore.ErrWrongRevision):
			return Result{}, err
		case expected != nil:
			return Result{}, fmt.Errorf("%w: %w", ErrRevisionMismatch, err)
		case attempt >= r.attempts:
			return Result{}, fmt.Errorf("%s after %d attempts: %w", stream, attempt, ErrContention)
		}
	}
}

func revisionText(l Loaded) string {
	if !l.Exists {
		return "no stream"
	}
	return fmt.Sprint(l.Revision)
}

// alreadyApplied finds the events of env's command in the loaded stream.
// The result is what the command's answer was: the state right after its
// events, not the state later commands left.
func alreadyApplied(l Loaded, env Envelope, stream string) (Result, bool) {
	first := EventID(env.CommandID, stream, 0)
	for i, rec := range l.Recorded {
		if rec.ID != first {
			continue
		}
		res := Result{CardholderID: l.State.ID, State: domain.NewCardholder(l.State.ID), Replayed: true}
		for j, rec := range l.Recorded {
			ours := j >= i && rec.ID == EventID(env.CommandID, stream, j-i)
			if j >= i && !ours {
				break
			}
			ev, err := domain.DecodeStoredEvent(rec.Type, rec.Data, rec.Metadata)
			if err != nil {
				// Load decoded the same bytes already.
				panic(fmt.Sprintf("commands: %s revision %d: %v", stream, rec.Revision, err))
			}
			res.State.Apply(ev)
			if ours {
				res.Events = append(res.Events, ev)
				res.Revision, res.Position = rec.Revision, rec.Position
			}
		}
		return res, true
	}
	return Result{}, false
}

// envelop encodes events with their metadata and deterministic ids.
func (r *Repository) envelop(env Envelope, stream string, events []domain.Event) ([]eventstore.EventData, error) {
	now := r.clock().UTC()
	out := make([]eventstore.EventData, len(events))
	for i, e := range events {
		typ, data, err := domain.EncodeEvent(e)
		if err != nil {
			return nil, err
		}
		id := EventID(env.CommandID, stream, i)
		md, err := domain.EncodeMetadata(metadataFor(env, id.String(), domain.SchemaVersion(typ), now))
		if err != nil {
			return nil, fmt.Errorf("metadata of %s: %w", typ, err)
		}
		out[i] = eventstore.EventData{ID: id, Type: typ, Data: data, Metadata: md}
	}
	return out, nil
}

func metadataFor(env Envelope, eventID string, schemaVersion int, now time.Time) domain.Metadata {
	causation := env.CausationID
	if causation == "" {
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
