package domain

import (
	"fmt"
	"slices"
	"time"
)

// This file is the contract of the e-card channel work (issue 14): the
// names other packages build on. Bodies marked "contract stub" are filled in
// by the e-card domain work; until then they answer "no".

// ConsentScope is what a holder lets a channel do with their data (授权).
type ConsentScope string

const (
	// ConsentIdentity: make the holder's dynamic identity codes and confirm
	// scan-to-login; the holder's masked identity flows to the channel.
	ConsentIdentity ConsentScope = "identity"
	// ConsentCardStatus: read the card's status and production progress.
	ConsentCardStatus ConsentScope = "card_status"
	// ConsentSelfService: act on the card for the holder (temporary loss,
	// unlock, activation, cancellation request, instant application).
	ConsentSelfService ConsentScope = "self_service"
	// ConsentContact: change the holder's phone number.
	ConsentContact ConsentScope = "contact"
)

// ConsentScopes lists every scope in a fixed order.
func ConsentScopes() []ConsentScope {
	return []ConsentScope{ConsentIdentity, ConsentCardStatus, ConsentSelfService, ConsentContact}
}

// Valid reports whether s is one of ConsentScopes.
func (s ConsentScope) Valid() bool {
	for _, v := range ConsentScopes() {
		if s == v {
			return true
		}
	}
	return false
}

// MaxChannelCodeLen bounds a channel code; codes travel inside the e-card's
// QR code, so they are short.
const MaxChannelCodeLen = 16

// ValidateChannelCode checks an e-card channel code: 2 to 16 characters of
// lower-case ASCII letters, digits and '-', not starting with '-'
// (e.g. "rsapp", "icbc-app").
func ValidateChannelCode(code string) error {
	if len(code) < 2 || len(code) > MaxChannelCodeLen {
		return fmt.Errorf("channel code must be 2 to %d characters, got %d", MaxChannelCodeLen, len(code))
	}
	for i, r := range code {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
		case r == '-' && i > 0:
		default:
			return fmt.Errorf("channel code %q: only a-z, 0-9 and '-' (not first) are allowed", code)
		}
	}
	return nil
}

// ECardBoundTo reports whether the holder's e-card is bound to channel
// (签发 through it, or bound to it later, and not unbound since). The
// bindings belong to the holder, not to a card: they survive a replacement
// and end with the e-card (ECardRevoked, which cancellation and transfer
// also record).
func (c *Cardholder) ECardBoundTo(channel string) bool {
	if c == nil || c.Card == nil || !c.Card.ECardIssued {
		return false
	}
	return slices.Contains(c.ECardChannels, channel)
}

// ConsentAllows reports whether the holder's consent to channel covers
// scope at now (granted, not revoked, not expired: now is before ExpiresAt).
func (c *Cardholder) ConsentAllows(channel string, scope ConsentScope, now time.Time) bool {
	if c == nil {
		return false
	}
	k := c.consentOf(channel)
	if k < 0 {
		return false
	}
	g := c.Consents[k]
	return now.Before(g.ExpiresAt) && slices.Contains(g.Scopes, scope)
}

// consentOf is the index of channel's consent in c.Consents, -1 if none.
func (c *Cardholder) consentOf(channel string) int {
	return slices.IndexFunc(c.Consents, func(g Consent) bool { return g.Channel == channel })
}
