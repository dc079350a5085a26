package domain

import "slices"

// applyECardChannel folds the events of ecard_events.go into the holder;
// other events change nothing.
func (c *Cardholder) applyECardChannel(e Event) {
	switch e := e.(type) {
	case ECardChannelBound:
		if !slices.Contains(c.ECardChannels, e.Channel) {
			c.ECardChannels = append(c.ECardChannels, e.Channel)
		}
	case ECardChannelUnbound:
		// A new slice: states copied before (Decide's callers) keep theirs.
		c.ECardChannels = slices.DeleteFunc(slices.Clone(c.ECardChannels), func(ch string) bool { return ch == e.Channel })
		if len(c.ECardChannels) == 0 {
			c.ECardChannels = nil
		}
	case ECardCarriedOver:
		if card := c.application(e.ApplicationID); card != nil {
			card.ECardIssued = true
		}
	case ConsentGranted:
		g := Consent{Channel: e.Channel, Scopes: e.Scopes, GrantedAt: e.GrantedAt, ExpiresAt: e.ExpiresAt}
		c.Consents = slices.Clone(c.Consents)
		if k := c.consentOf(e.Channel); k >= 0 {
			c.Consents[k] = g
		} else {
			c.Consents = append(c.Consents, g)
		}
	case ConsentRevoked:
		c.Consents = slices.DeleteFunc(slices.Clone(c.Consents), func(g Consent) bool { return g.Channel == e.Channel })
		if len(c.Consents) == 0 {
			c.Consents = nil
		}
	case CardCancellationRequested:
		if card := c.card(e.CardNo); card != nil {
			card.PendingCancellation = &CancellationRequest{Channel: e.Channel, Reason: e.Reason}
		}
	case PhoneChanged:
		c.Profile.Phone = e.Phone
	case ECardRiskAlerted:
		// A fact for the audit trail and the operators; no state.
	}
}
