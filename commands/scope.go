package commands

import (
	"context"

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
