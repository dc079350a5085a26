package domain

import "time"

// Commands of the holder's e-card channels (issue 14). The application
// layer checks who may send them (a channel only for itself and for holders
// bound to it, under consent); these decisions keep the holder's own rules.

// BindECardChannel issues the e-card through a channel (签发) or binds the
// issued e-card to one more channel. The channel's real-name check
// identified the person: IDNumber and Name must both be the registered ones
// (identity_mismatch), so a channel cannot bind anyone by ID number alone.
// With Scopes, the holder's consent to the channel is granted in the same
// decision (ConsentGranted first), as GrantConsent would.
type BindECardChannel struct {
	Channel  string
	IDNumber string
	Name     string
	// Scopes, ExpiresAt and At: the consent given with the binding (none
	// when Scopes is empty); see GrantConsent.
	Scopes    []ConsentScope
	ExpiresAt time.Time
	At        time.Time
}

// UnbindECardChannel ends one channel binding. The channel's consent, if
// any, is revoked with it.
type UnbindECardChannel struct {
	Channel string
	Reason  string
}

// GrantConsent records the holder's consent (授权) to Channel for Scopes.
// At is when it is given (the application's clock: Decide stays pure);
// ExpiresAt zero means MaxConsentDuration after At, and a later one is
// refused.
type GrantConsent struct {
	Channel   string
	Scopes    []ConsentScope
	ExpiresAt time.Time
	At        time.Time
}

// RevokeConsent ends the holder's consent to Channel.
type RevokeConsent struct {
	Channel string
	Reason  string
}

// RequestCancellation is the holder's cancellation request through a channel.
type RequestCancellation struct {
	CardNo  string
	Channel string
	Reason  string
}

// ChangePhone changes the holder's contact phone; Channel "" is the counter.
type ChangePhone struct {
	Phone   string
	Channel string
}

// ApplyThroughChannel is the holder's instant application (即时制卡申请)
// sent through a channel: an application routed to the bank of the holder's
// current or last card, which then makes the card at its counter
// (instant_issue continues the pending application). A lost or temporarily
// lost card is replaced by it (补卡, e-card carried over); a card in the
// holder's hands is not (valid_card_exists).
type ApplyThroughChannel struct {
	ApplicationID string
	Channel       string
	// Fee is the schedule for a replacement (fee.go); a channel claims no
	// exemption, elderly applies by itself. nil charges none.
	Fee *ReplacementFee
}

// RaiseECardRiskAlert records that the holder's codes were verified in two
// regions within minutes (the e-card code verifier raises it).
type RaiseECardRiskAlert struct {
	CardNo         string
	FirstRegion    string
	SecondRegion   string
	FirstAt        time.Time
	SecondAt       time.Time
	FirstTerminal  string
	SecondTerminal string
}

func (BindECardChannel) CommandName() string    { return "bind_ecard_channel" }
func (UnbindECardChannel) CommandName() string  { return "unbind_ecard_channel" }
func (GrantConsent) CommandName() string        { return "grant_consent" }
func (RevokeConsent) CommandName() string       { return "revoke_consent" }
func (RequestCancellation) CommandName() string { return "request_cancellation" }
func (ChangePhone) CommandName() string         { return "change_phone" }
func (ApplyThroughChannel) CommandName() string { return "apply_through_channel" }
func (RaiseECardRiskAlert) CommandName() string { return "raise_ecard_risk_alert" }

func (BindECardChannel) cardholderCommand()    {}
func (UnbindECardChannel) cardholderCommand()  {}
func (GrantConsent) cardholderCommand()        {}
func (RevokeConsent) cardholderCommand()       {}
func (RequestCancellation) cardholderCommand() {}
func (ChangePhone) cardholderCommand()         {}
func (ApplyThroughChannel) cardholderCommand() {}
func (RaiseECardRiskAlert) cardholderCommand() {}
