package domain

import (
	"slices"
	"strings"
	"time"
)

// Decisions of the holder's e-card channels, consents and self-service
// requests (issue 14); the rules are in doc.go, "The e-card rule".

// Codes of refused e-card channel commands (KindConflict).
const (
	CodeECardAlreadyBound       = "ecard_already_bound"            // the e-card is bound to this channel already
	CodeECardNotBound           = "ecard_not_bound"                // unbind of a channel the e-card is not bound to
	CodeIdentityMismatch        = "identity_mismatch"              // the name (or ID number) is not the registered one
	CodeNoConsent               = "no_consent"                     // revoke of a consent the holder never gave (or revoked)
	CodeCancellationRequested   = "cancellation_already_requested" // a cancellation request waits for the counter
	CodeFormalLossAtCounter     = "formal_loss_at_counter"         // a channel lifts only a temporary loss
	CodeNoBankToRoute           = "no_bank_to_route"               // no card, so no bank for an instant application
	CodeChannelAlreadySuspended = "channel_already_suspended"
	CodeChannelNotSuspended     = "channel_not_suspended"
)

// MaxConsentDuration bounds a consent: the holder renews it at least
// yearly. A grant without an expiry gets exactly this.
const MaxConsentDuration = 365 * 24 * time.Hour

// Consent is the holder's standing consent to one channel.
type Consent struct {
	Channel   string
	Scopes    []ConsentScope
	GrantedAt time.Time
	ExpiresAt time.Time
}

// CancellationRequest is a holder's cancellation request waiting for the counter.
type CancellationRequest struct {
	Channel string
	Reason  string
}

func (f *fieldErrors) channel(field, v string) {
	if f.required(field, v) {
		if err := ValidateChannelCode(v); err != nil {
			f.add(field, CodeInvalidValue, "%v", err)
		}
	}
}

// consentFields checks a consent's scopes and expiry and returns the
// event it grants (ExpiresAt defaulted).
func consentFields(f *fieldErrors, channel string, scopes []ConsentScope, expires, at time.Time) ConsentGranted {
	if len(scopes) == 0 {
		f.add("scopes", CodeRequired, "scopes is required: one or more of identity, card_status, self_service, contact")
	}
	var clean []ConsentScope
	for _, s := range scopes {
		if !s.Valid() {
			f.add("scopes", CodeInvalidValue, "scope %q is not one of identity, card_status, self_service, contact", s)
			continue
		}
		if !slices.Contains(clean, s) {
			clean = append(clean, s)
		}
	}
	// A fixed order, so that the same consent is the same event.
	slices.SortFunc(clean, func(a, b ConsentScope) int {
		return slices.Index(ConsentScopes(), a) - slices.Index(ConsentScopes(), b)
	})
	if at.IsZero() {
		f.add("at", CodeRequired, "at is required")
	}
	if expires.IsZero() {
		expires = at.Add(MaxConsentDuration)
	}
	switch {
	case at.IsZero():
	case !expires.After(at):
		f.add("expires_at", CodeInvalidValue, "expires_at must be in the future")
	case expires.Sub(at) > MaxConsentDuration:
		f.add("expires_at", CodeInvalidValue, "a consent lasts at most one year")
	}
	return ConsentGranted{Channel: channel, Scopes: clean, GrantedAt: at.UTC(), ExpiresAt: expires.UTC()}
}

func decideBindECardChannel(c *Cardholder, cmd BindECardChannel) ([]Event, error) {
	var f fieldErrors
	f.channel("channel", cmd.Channel)
	if f.required("id_number", cmd.IDNumber) {
		if err := ValidateIDNumber(cmd.IDNumber); err != nil {
			f.add("id_number", CodeInvalidIDNumber, "%v", err)
		}
	}
	f.requiredText("name", cmd.Name, MaxNameLen)
	var consent ConsentGranted
	switch {
	case len(cmd.Scopes) > 0:
		consent = consentFields(&f, cmd.Channel, cmd.Scopes, cmd.ExpiresAt, cmd.At)
	case !cmd.ExpiresAt.IsZero():
		f.add("expires_at", CodeInvalidValue, "expires_at is the expiry of a consent: give scopes with it")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	// Both must match: the ID number alone is no proof of who is there. An
	// erased holder's profile reads [erased] and matches nothing.
	if cmd.IDNumber != c.Profile.IDNumber || strings.TrimSpace(cmd.Name) != c.Profile.Name {
		// Say nothing of what is registered: the caller may be guessing.
		return nil, Conflict(CodeIdentityMismatch, "the name does not match the ID number's registration")
	}
	var events []Event
	if consent.Channel != "" {
		events = append(events, consent)
	}
	card := c.Card
	switch {
	case card != nil && card.ECardIssued && slices.Contains(c.ECardChannels, cmd.Channel):
		return nil, Conflict(CodeECardAlreadyBound, "the e-card of cardholder %s is already bound to channel %s", c.ID, cmd.Channel)
	case c.ECardUsable():
		return append(events, ECardChannelBound{CardNo: card.CardNo, Channel: cmd.Channel}), nil
	case card != nil && card.Status == StatusActive && !card.ECardIssued:
		return append(events, ECardIssued{CardNo: card.CardNo, Channel: cmd.Channel}), nil
	}
	return nil, Conflict(CodeCardNotActive, "cardholder %s has no active card (card is %s); an e-card needs one", c.ID, c.Status())
}

func decideUnbindECardChannel(c *Cardholder, cmd UnbindECardChannel) ([]Event, error) {
	var f fieldErrors
	f.channel("channel", cmd.Channel)
	f.text("reason", cmd.Reason, maxTextLen)
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	if !c.ECardBoundTo(cmd.Channel) {
		return nil, Conflict(CodeECardNotBound, "the e-card of cardholder %s is not bound to channel %s", c.ID, cmd.Channel)
	}
	events := []Event{ECardChannelUnbound{CardNo: c.Card.CardNo, Channel: cmd.Channel, Reason: cmd.Reason}}
	if c.consentOf(cmd.Channel) >= 0 {
		events = append(events, ConsentRevoked{Channel: cmd.Channel, Reason: "unbound"})
	}
	return events, nil
}

func decideGrantConsent(c *Cardholder, cmd GrantConsent) ([]Event, error) {
	var f fieldErrors
	f.channel("channel", cmd.Channel)
	e := consentFields(&f, cmd.Channel, cmd.Scopes, cmd.ExpiresAt, cmd.At)
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	return one(e)
}

func decideRevokeConsent(c *Cardholder, cmd RevokeConsent) ([]Event, error) {
	var f fieldErrors
	f.channel("channel", cmd.Channel)
	f.text("reason", cmd.Reason, maxTextLen)
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	if c.consentOf(cmd.Channel) < 0 {
		return nil, Conflict(CodeNoConsent, "cardholder %s has no consent to channel %s", c.ID, cmd.Channel)
	}
	return one(ConsentRevoked{Channel: cmd.Channel, Reason: cmd.Reason})
}

func decideRequestCancellation(c *Cardholder, cmd RequestCancellation) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	f.channel("channel", cmd.Channel)
	f.text("reason", cmd.Reason, maxTextLen)
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := cardIn(c, cmd.CommandName(), cmd.CardNo, cancellable()...)
	if err != nil {
		return nil, err
	}
	if card.PendingCancellation != nil {
		return nil, Conflict(CodeCancellationRequested, "card %s already has a cancellation request (through %s) waiting for the counter", cmd.CardNo, card.PendingCancellation.Channel)
	}
	return one(CardCancellationRequested{CardNo: cmd.CardNo, Channel: cmd.Channel, Reason: cmd.Reason})
}

func decideChangePhone(c *Cardholder, cmd ChangePhone) ([]Event, error) {
	var f fieldErrors
	phoneField(&f, "phone", cmd.Phone, true)
	if cmd.Channel != "" {
		f.channel("channel", cmd.Channel)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	// The person's data key is gone: new personal data would be stored
	// under a key nobody erased.
	if c.Erased {
		return nil, Conflict(CodeAlreadyErased, "the personal data of cardholder %s is erased", c.ID)
	}
	return one(PhoneChanged{Phone: cmd.Phone, Channel: cmd.Channel})
}

// routedBank is the bank of the holder's current card, else of the last
// past card with one.
func routedBank(c *Cardholder) string {
	if c.Card != nil && c.Card.BankCode != "" {
		return c.Card.BankCode
	}
	for i := len(c.PastCards) - 1; i >= 0; i-- {
		if b := c.PastCards[i].BankCode; b != "" {
			return b
		}
	}
	return ""
}

func decideApplyThroughChannel(c *Cardholder, cmd ApplyThroughChannel) ([]Event, error) {
	var f fieldErrors
	f.requiredRef("application_id", cmd.ApplicationID)
	f.channel("channel", cmd.Channel)
	feeField(&f, cmd.Fee)
	unclaimedFeeField(&f, cmd.Fee, "a channel")
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	// A card the holder no longer has (lost, temporarily lost) is replaced
	// (补卡) as replace_card would: cancelled with cause replacement in the
	// same decision, the e-card carried over. A card in the holder's hands
	// is not: a channel never cancels a working card (换卡 is the counter's).
	lost := c.Card != nil && in(c.Card.Status, StatusLost, StatusTemporarilyLost)
	replaces := ""
	if lost {
		if c.Deceased {
			return nil, Conflict(CodeCardholderDeceased, "cardholder %s is recorded as deceased", c.ID)
		}
		replaces = c.Card.CardNo
	} else {
		var err error
		if replaces, err = canApply(c, cmd.CommandName()); err != nil {
			return nil, err
		}
	}
	bank := routedBank(c)
	if bank == "" {
		return nil, Conflict(CodeNoBankToRoute, "cardholder %s never had a card at a bank; apply at the counter", c.ID)
	}
	applied := CardApplied{ApplicationID: cmd.ApplicationID, Source: SourceOnline, Kind: kindFor(replaces),
		BankCode: bank, ReplacesCardNo: replaces, Channel: cmd.Channel, PhotoRef: currentPhotoRef(c)}
	var fee *ReplacementFeeAssessed
	if replaces != "" {
		var err error
		if fee, err = assessFee(c, cmd.ApplicationID, cmd.Fee); err != nil {
			return nil, err
		}
	}
	if !lost {
		return withFee([]Event{applied}, fee), nil
	}
	events := []Event{CardCancelled{CardNo: replaces, Cause: CauseReplacement, From: c.Card.Status}, applied}
	if c.Card.ECardIssued {
		events = append(events, ECardCarriedOver{ApplicationID: cmd.ApplicationID, FromCardNo: replaces})
	}
	return withFee(events, fee), nil
}

func decideRaiseECardRiskAlert(c *Cardholder, cmd RaiseECardRiskAlert) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	f.regionCode("first_region", cmd.FirstRegion)
	f.regionCode("second_region", cmd.SecondRegion)
	if cmd.FirstAt.IsZero() {
		f.add("first_at", CodeRequired, "first_at is required")
	}
	if cmd.SecondAt.IsZero() {
		f.add("second_at", CodeRequired, "second_at is required")
	}
	f.ref("first_terminal", cmd.FirstTerminal)
	f.ref("second_terminal", cmd.SecondTerminal)
	if err := f.err(); err != nil {
		return nil, err
	}
	// The card need not be current any more: an alert is never lost to a
	// replacement that happened in between.
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	return one(ECardRiskAlerted{CardNo: cmd.CardNo, FirstRegion: cmd.FirstRegion, SecondRegion: cmd.SecondRegion,
		FirstAt: cmd.FirstAt.UTC(), SecondAt: cmd.SecondAt.UTC(), FirstTerminal: cmd.FirstTerminal, SecondTerminal: cmd.SecondTerminal})
}

// ecardEndsWith returns ECardRevoked with cause when the card's e-card is
// issued: cancellation and transfer end it explicitly, so that a later
// restoration does not bring it back and every channel binding ends.
func ecardEndsWith(card *Card, cause ECardRevocationCause) []Event {
	if card == nil || !card.ECardIssued {
		return nil
	}
	return []Event{ECardRevoked{CardNo: card.CardNo, Cause: cause}}
}
