package commands

import (
	"context"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// maxChain bounds the streams an erasure follows through ID-number changes
// (a person changes number once or twice in a life; a longer chain is a
// bug, not a person).
const maxChain = 16

// erasureRoute erases the holder's personal data and, for a person whose
// ID number changed (docs/id-number-change.md), every other stream of the
// chain in the same call: the linked streams first, the addressed one
// last, so that a call cut short is completed by its retry (the addressed
// stream still erasable, or already_erased once everything is).
func (a *API) erasureRoute() httpapi.Route {
	return commandRoute(a, httpapi.Route{
		Method: http.MethodPost, Path: "/v1/cardholders/{id}/erasure", Roles: rolesAdmin,
		Summary: "Erase the holder's personal data (个人信息删除): their data keys are deleted, " +
			"history and cards stay, and name, ID number, birth date, phone and photo read as [erased] everywhere; once only. " +
			"A person whose ID number changed is erased under every number of the chain (the streams linked by " +
			"IdentityMovedOut/IdentityMovedIn) in this one call; linked_cardholders names the others",
		Request: emptyBody{},
	}, true, func(ctx context.Context, c echo.Context, env Envelope, _ emptyBody) (Result, error) {
		id := c.Param("id")
		if err := checkCardholderID(id); err != nil {
			return Result{}, err
		}
		chain, err := a.identityChain(ctx, id, env.Scope)
		if err != nil {
			return Result{}, err
		}
		for _, other := range chain {
			e := env
			e.CommandID = IDFor("erasure-of-linked:"+other, env.CommandID)
			e.Expected = nil
			_, err := a.svc.Cardholder.Handle(ctx, CardholderCommand{Envelope: e, CardholderID: other, Command: domain.EraseCardholder{}})
			if err != nil && !domain.HasCode(err, domain.CodeAlreadyErased) {
				return Result{}, fmt.Errorf("erase cardholder %s, linked to %s by an ID-number change: %w", other, id, err)
			}
		}
		res, err := a.svc.Cardholder.Handle(ctx, CardholderCommand{Envelope: env, CardholderID: id, Command: domain.EraseCardholder{}})
		res.Linked = chain
		return res, err
	})
}

// identityChain is every other registered stream linked to id through
// ID-number changes, backwards (MovedFrom) then forwards (MovedTo), in
// that order. A link to a stream never started (a change cut short
// before its second step) ends the chain there.
func (a *API) identityChain(ctx context.Context, id string, scope httpapi.Scope) ([]string, error) {
	start, err := a.svc.Repository.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := checkScope(scope, start.State); err != nil {
		return nil, err
	}
	seen := map[string]bool{id: true}
	var back, forth []string
	walk := func(next string, link func(*domain.Cardholder) string, out *[]string) error {
		for next != "" && !seen[next] {
			if len(seen) > maxChain {
				return fmt.Errorf("cardholder %s: the chain of ID-number changes is longer than %d streams", id, maxChain)
			}
			seen[next] = true
			l, err := a.svc.Repository.Load(ctx, next)
			if err != nil {
				return err
			}
			if !l.State.Registered && !l.State.Erased {
				return nil
			}
			*out = append(*out, next)
			next = link(l.State)
		}
		return nil
	}
	if err := walk(start.State.MovedFrom, func(s *domain.Cardholder) string { return s.MovedFrom }, &back); err != nil {
		return nil, err
	}
	if err := walk(start.State.MovedTo, func(s *domain.Cardholder) string { return s.MovedTo }, &forth); err != nil {
		return nil, err
	}
	return append(back, forth...), nil
}
