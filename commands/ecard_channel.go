package commands

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// ChannelGate is the e-card channel aggregate's pipeline: it answers
// whether a channel may act (not suspended, not closed) and runs the
// administrator's channel commands (suspend, resume; register, open, close).
type ChannelGate struct {
	p *Pipeline[*domain.ECardChannel, domain.ChannelCommand]
}

// NewChannelGate returns the gate over store; clock stamps OccurredAt.
func NewChannelGate(store eventstore.Store, clock func() time.Time) (*ChannelGate, error) {
	p, err := NewPipeline(domain.ECardChannels, store, clock)
	if err != nil {
		return nil, err
	}
	return &ChannelGate{p: p}, nil
}

// Check refuses channel code when it is suspended now (403
// channel_suspended) or registered and not open (403 channel_closed). It
// reads the channel's stream on every call (a handful of events): a
// suspension or a closing refuses the channel's next request on every
// instance, with no cache to expire. A channel without a stream was never
// suspended nor registered, and passes.
func (g *ChannelGate) Check(ctx context.Context, code string) error {
	l, err := g.Load(ctx, code)
	if err != nil {
		return fmt.Errorf("channel %s: %w", code, err)
	}
	switch {
	case l.State.Suspended:
		return httpapi.NewProblem(http.StatusForbidden, CodeChannelSuspended,
			fmt.Sprintf("channel %s is suspended by the administrator", code))
	case l.State.Closed():
		return httpapi.NewProblem(http.StatusForbidden, CodeChannelClosed,
			fmt.Sprintf("channel %s is not open (电子渠道未开通 or closed by the administrator)", code))
	}
	return nil
}

// Load reads channel code's stream.
func (g *ChannelGate) Load(ctx context.Context, code string) (Stream[*domain.ECardChannel], error) {
	if domain.ValidateChannelCode(code) != nil {
		// No stream can have this name; do not ask the store about it.
		return Stream[*domain.ECardChannel]{State: domain.ECardChannels.New(code)}, nil
	}
	return g.p.Load(ctx, code)
}

// Handle runs a channel command on channel code.
func (g *ChannelGate) Handle(ctx context.Context, code string, env Envelope, cmd domain.ChannelCommand) (Outcome[*domain.ECardChannel], error) {
	return g.p.Handle(ctx, code, env, cmd)
}

// AccessLog appends the holders' e-card access records (domain.AccessLogs).
type AccessLog struct {
	p *Pipeline[*domain.AccessLog, domain.AccessCommand]
}

// NewAccessLog returns the access log over store; clock stamps OccurredAt.
func NewAccessLog(store eventstore.Store, clock func() time.Time) (*AccessLog, error) {
	p, err := NewPipeline(domain.AccessLogs, store, clock)
	if err != nil {
		return nil, err
	}
	return &AccessLog{p: p}, nil
}

// RecordChannelAccess records that env's channel (env.Scope.Channel) read
// holderID's data, or made a code for them, under consent scope: one
// ChannelAccessed in the holder's "ecard-access-<id>" stream, with env's
// metadata, so it shows in GET /v1/audit. It never touches the
// cardholder's stream. Operation names what was done ("status", "code").
// Every call is a new entry, even with the same env.
// A caller that is no channel has nothing to record: nil.
func (s *Service) RecordChannelAccess(ctx context.Context, env Envelope, holderID string, scope domain.ConsentScope, operation string) error {
	if env.Scope.Channel == "" {
		return nil
	}
	cmd := domain.RecordChannelAccess{CardholderID: holderID, Channel: env.Scope.Channel, Scope: scope, Operation: operation}
	// Each access is its own entry: a fresh id (a store keeping ids unique
	// would refuse a second access under the caller's command id), caused
	// by the caller's command.
	if env.CausationID == "" {
		env.CausationID = env.CommandID.String()
	}
	env.CommandID = uuid.New()
	_, err := s.AccessLog.p.Log(ctx, Start[*domain.AccessLog]{ID: holderID, Env: env,
		Decide: func(l *domain.AccessLog) ([]domain.Event, error) { return domain.DecideAccess(l, cmd) }})
	if err != nil {
		return fmt.Errorf("record access of channel %s to %s: %w", env.Scope.Channel, holderID, err)
	}
	return nil
}

// ChannelRead loads holderID for a read (or a code) made under consent
// scope ("" for a read under none, which records nothing), checking the
// caller's scope as a command would (region, bank; a channel's
// suspension, binding and consent: checkChannel), and records the access
// when the caller is a channel. Other callers read without a record:
// their reads are not made under a holder's consent.
func (s *Service) ChannelRead(ctx context.Context, env Envelope, holderID string, scope domain.ConsentScope, operation string) (Loaded, error) {
	if err := checkCardholderID(holderID); err != nil {
		return Loaded{}, err
	}
	loaded, err := s.Repository.Load(ctx, holderID)
	if err != nil {
		return Loaded{}, err
	}
	if err := checkScope(env.Scope, loaded.State); err != nil {
		return Loaded{}, err
	}
	env.Consent = scope
	if err := s.Repository.checkChannel(ctx, env, loaded.State); err != nil {
		return Loaded{}, err
	}
	if !loaded.State.Registered {
		return Loaded{}, domain.NotFound(domain.CodeCardholderNotFound, "cardholder %s is not registered", holderID)
	}
	if scope != "" {
		if err := s.RecordChannelAccess(ctx, env, holderID, scope, operation); err != nil {
			return Loaded{}, err
		}
	}
	return loaded, nil
}
