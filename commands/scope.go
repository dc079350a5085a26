package commands

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// checkScope refuses a registered cardholder outside scope with the
// *httpapi.ScopeError naming the failed scope: its registered region, and
// the bank of its current card. An unregistered holder passes (the command
// then decides cardholder_not_found, or registers it and is checked again).
func checkScope(scope httpapi.Scope, h *domain.Cardholder) error {
	if scope.Unrestricted() || h == nil || !h.Registered {
		return nil
	}
	bank := ""
	if h.Card != nil {
		bank = h.Card.BankCode
	}
	return scope.Check(h.Profile.RegionCode, bank)
}

// checkReadScope checks the caller's scope against the holder a read
// endpoint is about to show (resolving a card number first when holderID is
// empty). It costs a stream read only for scoped clients.
func (a *API) checkReadScope(c echo.Context, holderID, cardNo string) error {
	p, _ := httpapi.PrincipalFrom(c)
	scope := p.Scope()
	if scope.Unrestricted() {
		return nil
	}
	ctx := c.Request().Context()
	if holderID == "" {
		var err error
		if holderID, err = a.svc.CardNumbers.Resolve(ctx, cardNo); err != nil {
			return a.commandError(err)
		}
	} else if err := checkCardholderID(holderID); err != nil {
		return a.commandError(err)
	}
	return a.scopeOf(ctx, holderID, scope)
}

func (a *API) scopeOf(ctx context.Context, holderID string, scope httpapi.Scope) error {
	loaded, err := a.svc.Repository.Load(ctx, holderID)
	if err != nil {
		return err
	}
	return checkScope(scope, loaded.State)
}

// Problem codes of a channel caller's refusals (all 403).
const (
	CodeHolderNotBound   = "holder_not_bound"
	CodeConsentRequired  = "consent_required"
	CodeChannelSuspended = "channel_suspended"
	// CodeChannelClosed: the channel app is registered and not open (电子渠道开通).
	CodeChannelClosed = "channel_closed"
	// CodeOtherChannel: a channel named another channel's binding or consent.
	CodeOtherChannel = "other_channel"
)

// checkChannel is the one place of an e-card channel caller's rules
// (env.Scope.Channel set; every other caller passes), for the holder a
// command or a read is about, in this order:
//   - the channel is not suspended now (channel_suspended) nor registered
//     and closed (channel_closed): read from the channel's stream on every
//     call, so a suspension or a closing refuses at once;
//   - the holder's e-card is bound to the channel (holder_not_bound), except
//     for the command that binds it (env.MayBind). An unregistered holder
//     is not bound: the channel learns nothing more;
//   - the holder's consent to the channel covers env.Consent at the
//     repository's clock (consent_required), when the route needs a scope.
//
// Problems name the channel, never anything about the holder.
func (r *Repository) checkChannel(ctx context.Context, env Envelope, h *domain.Cardholder) error {
	ch := env.Scope.Channel
	if ch == "" {
		return nil
	}
	if err := r.gate.Check(ctx, ch); err != nil {
		return err
	}
	if !env.MayBind && !h.ECardBoundTo(ch) {
		return httpapi.NewProblem(http.StatusForbidden, CodeHolderNotBound,
			fmt.Sprintf("the holder's e-card is not bound to channel %s", ch))
	}
	if env.Consent != "" && !h.ConsentAllows(ch, env.Consent, r.Now()) {
		return httpapi.NewProblem(http.StatusForbidden, CodeConsentRequired,
			fmt.Sprintf("the holder has not given channel %s consent to %s (or it expired or was revoked)", ch, env.Consent))
	}
	return nil
}
