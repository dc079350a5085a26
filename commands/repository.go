package commands

import (
	"context"
	"errors"
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

// Repository is the cardholder instance of the write pipeline (Pipeline):
// it loads cardholders and appends what they decide, checking the
// envelope's scope on the loaded state and on the state the command leaves.
type Repository struct {
	p *Pipeline[*domain.Cardholder, domain.CardholderCommand]
	// gate answers whether an e-card channel is suspended (checkChannel).
	gate *ChannelGate
}

// NewRepository returns a repository over store; clock stamps OccurredAt.
func NewRepository(store eventstore.Store, clock func() time.Time) (*Repository, error) {
	if store == nil {
		return nil, errors.New("commands: repository needs an event store")
	}
	if clock == nil {
		return nil, errors.New("commands: repository needs a clock")
	}
	p, err := NewPipeline(domain.Cardholders, store, clock)
	if err != nil {
		return nil, err
	}
	p.CacheStreams(DefaultStreamCache)
	gate, err := NewChannelGate(store, clock)
	if err != nil {
		return nil, err
	}
	return &Repository{p: p, gate: gate}, nil
}

// CacheStreams sets how many cardholder streams Update may decide on
// without reading them (DefaultStreamCache until set; 0 turns the cache
// off): see Pipeline. Set it before serving commands.
func (r *Repository) CacheStreams(streams int) { r.p.CacheStreams(streams) }

// Erased drops what the stream cache holds of holder cardholderID, whose
// personal-data keys were erased, by this instance or another; "" drops
// everything (erasures may have been missed). Give it to the keyring
// (piistore.Keyring.OnErasure) so that opened personal data lives no
// longer here than the keys that open it.
func (r *Repository) Erased(cardholderID string) {
	if cardholderID == "" {
		r.p.cache.clear()
		return
	}
	r.p.cache.forget(cardholderID)
}

// Loaded is a cardholder as read from its stream.
type Loaded = Stream[*domain.Cardholder]

// Load reads and replays the stream of cardholderID. A missing stream is
// not an error: it loads as the empty, unregistered cardholder.
func (r *Repository) Load(ctx context.Context, cardholderID string) (Loaded, error) {
	return r.p.Load(ctx, cardholderID)
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
	// Linked are the other streams an erasure reached, linked to this one
	// by ID-number changes (erasureRoute); nil for every other command.
	Linked []string
}

// Update runs one command on the cardholder through the pipeline (see
// Pipeline.Run): load, decide, append at the revision it loaded, deciding
// again when another writer got there first; with an expected revision a
// moved stream is ErrRevisionMismatch; a command already applied (same
// env.CommandID) answers Replayed, as it was answered then, whatever the
// scope now. The holder must be in env.Scope before
// and after the command (a registration in another region, an application
// for another bank is refused before anything is appended). A channel
// caller must also meet checkChannel on the loaded state, at every attempt.
func (r *Repository) Update(ctx context.Context, cardholderID string, expected *uint64, env Envelope,
	decide func(*domain.Cardholder) ([]domain.Event, error)) (Result, error) {
	out, err := r.p.Run(ctx, cardholderID, Call[*domain.Cardholder]{
		Env: env, Expected: expected,
		Decide: func(s *domain.Cardholder) ([]domain.Event, error) {
			if err := r.checkChannel(ctx, env, s); err != nil {
				return nil, err
			}
			return decide(s)
		},
		Check: func(s *domain.Cardholder) error { return checkScope(env.Scope, s) },
	})
	if err != nil {
		return Result{}, err
	}
	state := out.State
	return Result{CardholderID: cardholderID, Revision: out.Revision, Position: out.Position, Events: out.Events,
		State: state, Replayed: out.Replayed}, nil
}

// Replayed is the answer of env's command if its events are already in the
// loaded stream (see Pipeline.Run), for handlers that must know before
// they reserve anything outside the stream.
func (r *Repository) Replayed(loaded Loaded, env Envelope) (Result, bool) {
	out, ok := r.p.alreadyApplied(loaded.State.ID, loaded, env.CommandID)
	if !ok {
		return Result{}, false
	}
	return Result{CardholderID: loaded.State.ID, Revision: out.Revision, Position: out.Position, Events: out.Events,
		State: out.State, Replayed: true}, true
}

// Now is the repository's clock.
func (r *Repository) Now() time.Time { return r.p.clock() }
