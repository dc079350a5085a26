package ecard

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// CommandHolders loads holders through the command side: the event store,
// as of now (never a read model, which may lag behind a loss report).
type CommandHolders struct{ Service *commands.Service }

// Load replays the holder's stream.
func (h CommandHolders) Load(ctx context.Context, cardholderID string) (*domain.Cardholder, error) {
	if !isCardholderID(cardholderID) {
		return nil, domain.NotFound(domain.CodeCardholderNotFound, "cardholder %q is not registered", cardholderID)
	}
	l, err := h.Service.Repository.Load(ctx, cardholderID)
	if err != nil {
		return nil, fmt.Errorf("ecard: load cardholder %s: %w", cardholderID, err)
	}
	return l.State, nil
}

// Resolve maps a card number to its holder.
func (h CommandHolders) Resolve(ctx context.Context, cardNo string) (string, error) {
	return h.Service.CardNumbers.Resolve(ctx, cardNo)
}

// isCardholderID: 32 lower-case hex digits (domain.CardholderIDFor's form).
func isCardholderID(id string) bool {
	return len(id) == 32 && strings.Trim(id, "0123456789abcdef") == ""
}

// IngesterUsage records usage through analytics' ingester (usage streams
// in the event store; the ClickHouse projection counts them).
type IngesterUsage struct{ Ingester *analytics.Ingester }

// RecordUsage stores u; a duplicate (a retry) is success.
func (i IngesterUsage) RecordUsage(ctx context.Context, u domain.UsageInput, actor domain.Actor) error {
	res, err := i.Ingester.Ingest(ctx, []domain.UsageInput{u}, true, actor)
	if err != nil {
		return err
	}
	if len(res.Rejected) > 0 {
		return fmt.Errorf("usage record %s refused: %v", u.ID, res.Rejected[0].Fields)
	}
	return nil
}

// CommandAlerts raises risk alerts as RaiseECardRiskAlert through the
// command pipeline: an ECardRiskAlerted event on the holder's stream,
// shown in the audit trail. The command id derives from the alert's key,
// so raising it again appends nothing.
type CommandAlerts struct {
	Handler *commands.CardholderCommandHandler
}

// RaiseRiskAlert runs the command as the later terminal.
func (a CommandAlerts) RaiseRiskAlert(ctx context.Context, r RiskAlert) error {
	env := commands.Envelope{CommandID: uuid.NewSHA1(idSpace, []byte("risk-alert:"+r.Key)),
		Actor: domain.Actor{Client: r.SecondTerminal}, Channel: "ecard-verify"}
	_, err := a.Handler.Handle(ctx, commands.CardholderCommand{Envelope: env, CardholderID: r.CardholderID,
		Command: domain.RaiseECardRiskAlert{CardNo: r.CardNo, FirstRegion: r.FirstRegion, SecondRegion: r.SecondRegion,
			FirstAt: r.FirstAt, SecondAt: r.SecondAt, FirstTerminal: r.FirstTerminal, SecondTerminal: r.SecondTerminal}})
	if err != nil {
		return fmt.Errorf("raise risk alert for %s: %w", r.CardholderID, err)
	}
	return nil
}

// CommandGate asks the command side's channel gate (the channel's stream,
// read on every call: a suspension refuses every code of the channel at once).
type CommandGate struct{ Gate *commands.ChannelGate }

// Check refuses a suspended or closed channel.
func (g CommandGate) Check(ctx context.Context, channel string) error {
	return g.Gate.Check(ctx, channel)
}

// CommandAccess records a code made for a holder as a consented access in
// the holder's access log (ChannelAccessed), with the request's metadata,
// so it shows in GET /v1/audit.
type CommandAccess struct{ Service *commands.Service }

// RecordAccess appends the ChannelAccessed record.
func (c CommandAccess) RecordAccess(ctx context.Context, a Access) error {
	p := a.Request.Principal
	env := commands.NewEnvelope(domain.Actor{Client: p.Client, CertSubject: p.Subject}, "http")
	env.CorrelationID, env.CausationID, env.RemoteAddr = a.Request.CorrelationID, a.Request.RequestID, a.Request.RemoteAddr
	env.Scope = p.Scope()
	return c.Service.RecordChannelAccess(ctx, env, a.CardholderID, a.Scope, a.Operation)
}
