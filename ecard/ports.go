package ecard

import (
	"context"
	"time"

	"github.com/cardledger/cardledger/domain"
)

// The e-card module's outside needs, each a small interface so that the
// holder side (channel bindings, consent, suspension, risk alerts, access
// records) plugs in without this package knowing how it is stored.

// Holders loads cardholders as of now from the event store.
type Holders interface {
	// Load returns the cardholder; an unregistered one has Registered false.
	Load(ctx context.Context, cardholderID string) (*domain.Cardholder, error)
	// Resolve returns the cardholder a card number was assigned to, or a
	// domain NotFound error.
	Resolve(ctx context.Context, cardNo string) (string, error)
}

// ChannelGate refuses a channel an administrator suspended or closed: a
// *httpapi.Problem (403 channel_suspended, channel_closed), nil when the
// channel may act, another error when it cannot be told.
type ChannelGate interface {
	Check(ctx context.Context, channel string) error
}

// Access is one use of a holder's data by a channel under its consent.
type Access struct {
	Request      Request // the channel's call (Principal.Channel is the channel)
	CardholderID string
	Scope        domain.ConsentScope
	Operation    string // what the channel did: "code"
	At           time.Time
}

// AccessRecorder records a consented access so it shows in the audit trail.
type AccessRecorder interface {
	RecordAccess(ctx context.Context, a Access) error
}

// RiskAlert is one holder's codes verified by terminals of two prefectures
// within the risk window; First is the earlier verification.
type RiskAlert struct {
	CardholderID   string
	CardNo         string
	FirstRegion    string // the terminals' region codes
	SecondRegion   string
	FirstAt        time.Time
	SecondAt       time.Time
	FirstTerminal  string // the terminals' API clients
	SecondTerminal string
	// Key names the pair of verifications: raising the same alert again
	// (a retry) records it once.
	Key string
}

// RiskAlerter raises a risk alert on the holder's stream.
type RiskAlerter interface {
	RaiseRiskAlert(ctx context.Context, a RiskAlert) error
}

// UsageRecorder stores one identity_auth usage record (analytics counts
// it); the record id makes a retry store it once.
type UsageRecorder interface {
	RecordUsage(ctx context.Context, u domain.UsageInput, actor domain.Actor) error
}

// Placeholders until the holder side is wired: no channel is suspended,
// accesses and alerts go nowhere. cmd/cardledger replaces them.
type (
	noGate   struct{}
	noAccess struct{}
	noAlerts struct{}
)

func (noGate) Check(context.Context, string) error               { return nil }
func (noAccess) RecordAccess(context.Context, Access) error      { return nil }
func (noAlerts) RaiseRiskAlert(context.Context, RiskAlert) error { return nil }
