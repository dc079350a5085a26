package commands

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// The e-card channel routes (issue 14): binding, consent, the holder's
// self-service through a channel, and the administrator's channel
// suspension. A channel acts only for holders bound to it and within their
// consent; checkChannel (scope.go) is where that is checked, for commands
// (Repository.Update) and reads (Service.ChannelRead) alike. Events a
// channel causes carry metadata channel "ecard:<code>" and its client as
// the actor (envelopeFrom), so the audit trail shows the channel acting
// for the holder whose stream it is.

// Request bodies of the e-card routes.
type (
	bindBody struct {
		IDNumber string                `json:"id_number"`
		Name     string                `json:"name"`
		Scopes   []domain.ConsentScope `json:"scopes,omitempty"` // none: binding without consent
		// ExpiresAt of the consent given with the binding; default a year.
		ExpiresAt time.Time `json:"expires_at,omitzero"`
	}
	unbindBody struct {
		Channel string `json:"channel"` // a channel names itself (other_channel otherwise)
		Reason  string `json:"reason,omitempty"`
	}
	consentBody struct {
		Channel   string                `json:"channel"` // a channel names itself (other_channel otherwise)
		Scopes    []domain.ConsentScope `json:"scopes"`
		ExpiresAt time.Time             `json:"expires_at,omitzero"` // default: a year
	}
	suspendBody struct {
		Reason string `json:"reason"`
	}
	phoneBody struct {
		Phone string `json:"phone"`
	}
)

// Responses of the e-card reads and the channel routes.
type (
	// ConsentsView is a holder's consents: a channel sees only its own.
	ConsentsView struct {
		CardholderID string        `json:"cardholder_id"`
		Consents     []ConsentView `json:"consents"`
	}
	ConsentView struct {
		Channel   string                `json:"channel"`
		Scopes    []domain.ConsentScope `json:"scopes"`
		GrantedAt time.Time             `json:"granted_at"`
		ExpiresAt time.Time             `json:"expires_at"`
		Expired   bool                  `json:"expired"`
		Bound     bool                  `json:"bound"` // the e-card is bound to the channel
	}
	// SelfStatusView is what a channel reads under card_status (状态查询).
	SelfStatusView struct {
		CardholderID          string            `json:"cardholder_id"`
		CardNo                string            `json:"card_no,omitempty"`
		CardStatus            domain.CardStatus `json:"card_status"`
		ECardUsable           bool              `json:"ecard_usable"`
		CancellationRequested bool              `json:"cancellation_requested"`
		Revision              uint64            `json:"revision"`
	}
	// ProductionView is the current application's progress (制卡进度).
	ProductionView struct {
		CardholderID  string                 `json:"cardholder_id"`
		ApplicationID string                 `json:"application_id,omitempty"`
		Kind          domain.ApplicationKind `json:"kind,omitempty"`
		Status        domain.CardStatus      `json:"status"`
		BankCode      string                 `json:"bank_code,omitempty"`
		CardNo        string                 `json:"card_no,omitempty"`
		CustodyAt     string                 `json:"custody_at,omitempty"`
		LastFailure   string                 `json:"last_failure,omitempty"`
		Revision      uint64                 `json:"revision"`
	}
	// ChannelView is a channel's suspension state.
	ChannelView struct {
		Channel   string  `json:"channel"`
		Suspended bool    `json:"suspended"`
		Reason    string  `json:"reason,omitempty"`
		Revision  *uint64 `json:"revision,omitempty"` // of the channel's stream; absent: never suspended
	}
)

var (
	rolesChannel        = []httpapi.Role{httpapi.RoleChannel}
	rolesChannelCounter = []httpapi.Role{httpapi.RoleChannel, httpapi.RoleCounter}
)

// channelForbidden documents the 403s of a route a channel calls: the
// plumbing's and the channel rule's (checkChannel, ownChannel).
var channelForbidden = httpapi.Response{Status: http.StatusForbidden, Description: "The role may not call this route " +
	"(forbidden), the holder is outside the client's region or bank (scope_region, scope_bank), or the channel rule " +
	"refuses: channel_suspended, channel_closed, holder_not_bound, consent_required, other_channel"}

var (
	exampleExpiry          = time.Date(2027, 6, 30, 16, 0, 0, 0, time.UTC)
	exampleChannelRevision = uint64(0)
)

// ecardRoutes is the e-card part of the command API's table.
func (a *API) ecardRoutes() []httpapi.Route {
	return []httpapi.Route{
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/ecard/bindings", Roles: rolesChannel, Status: http.StatusOK,
			Responses: []httpapi.Response{channelForbidden},
			Summary: "Issue the e-card through the calling channel (签发), or bind the issued e-card to it: the channel's real-name check " +
				"sends the ID number and name, both must be the registered ones (identity_mismatch); scopes and expires_at " +
				"(at most a year, default a year) grant the holder's consent in the same decision",
			Request: bindBody{IDNumber: "44030419900307123X", Name: "张三",
				Scopes: []domain.ConsentScope{domain.ConsentIdentity, domain.ConsentCardStatus, domain.ConsentSelfService}, ExpiresAt: exampleExpiry},
		}, false, func(ctx context.Context, c echo.Context, env Envelope, b bindBody) (Result, error) {
			p, _ := httpapi.PrincipalFrom(c)
			holder, err := a.svc.Register.IDFor(b.IDNumber)
			if err != nil {
				return Result{}, err
			}
			cmd := domain.BindECardChannel{Channel: p.Channel, IDNumber: domain.NormalizeIDNumber(b.IDNumber), Name: b.Name,
				Scopes: b.Scopes, ExpiresAt: b.ExpiresAt, At: a.now()}
			env.MayBind = true
			return a.svc.Repository.Update(ctx, holder, env.Expected, env, func(s *domain.Cardholder) ([]domain.Event, error) {
				return domain.Decide(s, cmd)
			})
		}),
		ownChannelRoute(a, "/ecard/unbinding", "End one channel binding of the e-card; the others stay, and that channel's consent is revoked with it. "+
			"A channel unbinds itself; the counter names any channel",
			unbindBody{Channel: "rsapp", Reason: "the holder uninstalled the app"},
			func(b unbindBody) string { return b.Channel },
			func(ch string, b unbindBody) domain.CardholderCommand {
				return domain.UnbindECardChannel{Channel: ch, Reason: b.Reason}
			}),
		ownChannelRoute(a, "/consents", "Grant the holder's consent (授权) to a channel: scopes and expiry (at most a year, default a year); "+
			"a later grant replaces it. A channel grants to itself for a holder bound to it; "+
			"the counter, with the holder present, names any channel",
			consentBody{Channel: "rsapp", Scopes: []domain.ConsentScope{domain.ConsentCardStatus, domain.ConsentContact}, ExpiresAt: exampleExpiry},
			func(b consentBody) string { return b.Channel },
			func(ch string, b consentBody) domain.CardholderCommand {
				return domain.GrantConsent{Channel: ch, Scopes: b.Scopes, ExpiresAt: b.ExpiresAt, At: a.now()}
			}),
		{
			Method: http.MethodGet, Path: "/v1/cardholders/{id}/consents", Roles: rolesChannelCounter,
			Summary: "The holder's consents; a channel sees only its own (and needs the holder bound to it)",
			Handler: a.listConsents, Responses: []httpapi.Response{notFound, channelForbidden},
			Response: ConsentsView{CardholderID: "5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5", Consents: []ConsentView{{Channel: "rsapp",
				Scopes: []domain.ConsentScope{domain.ConsentIdentity}, GrantedAt: exampleExpiry.AddDate(-1, 0, 0), ExpiresAt: exampleExpiry, Bound: true}}},
		},
		commandRoute(a, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/cardholders/{id}/consents/{channel}/revocation", Roles: rolesChannelCounter,
			Responses: []httpapi.Response{channelForbidden},
			Summary:   "Revoke the holder's consent to a channel; a channel revokes only its own, the counter any", Request: reasonBody{Reason: "the holder asked"},
		}, true, func(ctx context.Context, c echo.Context, env Envelope, b reasonBody) (Result, error) {
			p, _ := httpapi.PrincipalFrom(c)
			return a.ownChannelCommand(ctx, c.Param("id"), env, p, c.Param("channel"), func(ch string) domain.CardholderCommand {
				return domain.RevokeConsent{Channel: ch, Reason: b.Reason}
			})
		}),

		selfServiceRoute(a, "/temporary-loss", "Report the card temporarily lost (临时挂失) for the holder", domain.ConsentSelfService,
			reasonBody{Reason: "cannot find it"},
			func(s *domain.Cardholder, _ Envelope, _ httpapi.Principal, b reasonBody) domain.CardholderCommand {
				return domain.ReportTemporaryLoss{CardNo: currentCardNo(s), Reason: b.Reason}
			}),
		selfServiceRoute(a, "/unlock", "Lift the card's temporary loss (解挂) for the holder; a formal loss is lifted at the counter (formal_loss_at_counter)",
			domain.ConsentSelfService, reasonBody{Reason: "found it"},
			func(s *domain.Cardholder, _ Envelope, _ httpapi.Principal, b reasonBody) domain.CardholderCommand {
				return domain.UnlockCard{CardNo: currentCardNo(s), Reason: b.Reason, TemporaryOnly: true}
			}),
		selfServiceRoute(a, "/cancellation-request", "Ask for the card's cancellation (注销申请); the counter confirms it with the cancellation",
			domain.ConsentSelfService, reasonBody{Reason: "moving abroad"},
			func(s *domain.Cardholder, _ Envelope, p httpapi.Principal, b reasonBody) domain.CardholderCommand {
				return domain.RequestCancellation{CardNo: currentCardNo(s), Channel: p.Channel, Reason: b.Reason}
			}),
		selfServiceRoute(a, "/activation", "Activate the issued card (启用) for the holder", domain.ConsentSelfService, emptyBody{},
			func(s *domain.Cardholder, _ Envelope, _ httpapi.Principal, _ emptyBody) domain.CardholderCommand {
				return domain.ActivateCard{CardNo: currentCardNo(s)}
			}),
		selfServiceRoute(a, "/phone", "Change the holder's contact phone (联系电话修改)", domain.ConsentContact, phoneBody{Phone: "13900139000"},
			func(_ *domain.Cardholder, _ Envelope, p httpapi.Principal, b phoneBody) domain.CardholderCommand {
				return domain.ChangePhone{Phone: b.Phone, Channel: p.Channel}
			}),
		selfServiceRoute(a, "/instant-application", "Apply for a card to be made at once (即时制卡申请), routed to the bank of the holder's "+
			"current or last card, whose counter makes it (instant-issuance continues this application). A replacement records the "+
			"replacement fee (elderly exempted by age; no other exemption can be claimed here), held until paid", domain.ConsentSelfService, emptyBody{},
			func(_ *domain.Cardholder, env Envelope, p httpapi.Principal, _ emptyBody) domain.CardholderCommand {
				return domain.ApplyThroughChannel{ApplicationID: ApplicationIDFor(env.CommandID), Channel: p.Channel, Fee: a.replacementFee("")}
			}),
		{
			Method: http.MethodGet, Path: "/v1/cardholders/{id}/self-service/status", Roles: rolesChannel,
			Summary: "The card's and the e-card's status (状态查询), under consent card_status; recorded as an access",
			Handler: a.selfStatus, Responses: []httpapi.Response{notFound, channelForbidden},
			Response: SelfStatusView{CardholderID: "5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5", CardNo: "A12345678", CardStatus: domain.StatusActive,
				ECardUsable: true, Revision: 7},
		},
		{
			Method: http.MethodGet, Path: "/v1/cardholders/{id}/self-service/production", Roles: rolesChannel,
			Summary: "The current application's production progress (制卡进度查询), under consent card_status; recorded as an access",
			Handler: a.selfProduction, Responses: []httpapi.Response{notFound, channelForbidden},
			Response: ProductionView{CardholderID: "5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5", ApplicationID: "0b7e…", Kind: domain.Replacement,
				Status: domain.StatusProduced, BankCode: "102", CardNo: "A12345678", CustodyAt: "vendor", Revision: 9},
		},

		channelRoute(a, "/suspension", "Suspend the channel: every code and session of it is refused at once (channel_suspended)",
			suspendBody{Reason: "suspected leak of the app's keys"},
			func(b suspendBody) domain.ChannelCommand { return domain.SuspendChannel{Reason: b.Reason} }),
		channelRoute(a, "/resumption", "Resume a suspended channel", reasonBody{Reason: "keys rotated"},
			func(b reasonBody) domain.ChannelCommand { return domain.ResumeChannel{Reason: b.Reason} }),
		{
			Method: http.MethodGet, Path: "/v1/ecard/channels/{code}", Roles: rolesAdmin,
			Summary:  "Whether the channel is suspended, and why",
			Handler:  a.getChannel,
			Response: ChannelView{Channel: "rsapp", Suspended: true, Reason: "suspected leak of the app's keys"},
		},
	}
}

// ownChannel is the channel a command names, checked against a channel
// caller: it names itself (naming another is 403 other_channel: a channel
// never touches another channel's binding or consent). Nothing named is
// the domain's required field.
func ownChannel(p httpapi.Principal, named string) (string, error) {
	if p.Channel == "" || named == "" || named == p.Channel {
		return named, nil
	}
	return "", httpapi.NewProblem(http.StatusForbidden, CodeOtherChannel,
		fmt.Sprintf("channel %s acts only on its own binding and consent", p.Channel))
}

// ownChannelCommand runs the command build makes for the channel named
// (see ownChannel) on holder, after the caller's scope checks: a channel
// of another region hears scope_region before other_channel.
func (a *API) ownChannelCommand(ctx context.Context, holder string, env Envelope, p httpapi.Principal, named string,
	build func(channel string) domain.CardholderCommand) (Result, error) {
	if err := checkCardholderID(holder); err != nil {
		return Result{}, err
	}
	return a.svc.Repository.Update(ctx, holder, env.Expected, env, func(s *domain.Cardholder) ([]domain.Event, error) {
		ch, err := ownChannel(p, named)
		if err != nil {
			return nil, err
		}
		return domain.Decide(s, build(ch))
	})
}

// ownChannelRoute is a row for a holder command about one channel, which a
// channel sends about itself and the counter about any (ownChannel).
func ownChannelRoute[B any](a *API, path, summary string, example B, named func(B) string,
	build func(channel string, body B) domain.CardholderCommand) httpapi.Route {
	return commandRoute(a, httpapi.Route{
		Method: http.MethodPost, Path: "/v1/cardholders/{id}" + path, Roles: rolesChannelCounter,
		Summary: summary, Request: example, Responses: []httpapi.Response{channelForbidden},
	}, false, func(ctx context.Context, c echo.Context, env Envelope, b B) (Result, error) {
		p, _ := httpapi.PrincipalFrom(c)
		return a.ownChannelCommand(ctx, c.Param("id"), env, p, named(b), func(ch string) domain.CardholderCommand { return build(ch, b) })
	})
}

// currentCardNo is the number of the holder's current card, "" if none
// (the command then refuses naming the status).
func currentCardNo(s *domain.Cardholder) string {
	if s.Card == nil {
		return ""
	}
	return s.Card.CardNo
}

// selfServiceRoute is a row of a channel acting for a holder bound to it,
// under consent: the command is built on the loaded state (the current
// card), and a holder without a numbered card is refused as the command
// would be in its status.
func selfServiceRoute[B any](a *API, path, summary string, consent domain.ConsentScope, example B,
	build func(s *domain.Cardholder, env Envelope, p httpapi.Principal, body B) domain.CardholderCommand) httpapi.Route {
	return commandRoute(a, httpapi.Route{
		Method: http.MethodPost, Path: "/v1/cardholders/{id}/self-service" + path, Roles: rolesChannel,
		Summary: summary + "; needs consent " + string(consent), Request: example, Responses: []httpapi.Response{channelForbidden},
	}, true, func(ctx context.Context, c echo.Context, env Envelope, b B) (Result, error) {
		p, _ := httpapi.PrincipalFrom(c)
		holder := c.Param("id")
		if err := checkCardholderID(holder); err != nil {
			return Result{}, err
		}
		env.Consent = consent
		gate := func(s *domain.Cardholder) error { return nil }
		if a.svc.province.port != nil && path == "/instant-application" {
			// The first-issue rule (province.go) needs the province's answer
			// before the decision; the channel's own checks still come first
			// inside Update.
			loaded, err := a.svc.Repository.Load(ctx, holder)
			if err != nil {
				return Result{}, err
			}
			if _, replayed := a.svc.Repository.Replayed(loaded, env); !replayed {
				held, err := a.svc.province.heldElsewhere(ctx, loaded.State)
				if err != nil {
					return Result{}, err
				}
				gate = func(s *domain.Cardholder) error { return domain.RefuseHeldElsewhere(s, held) }
			}
		}
		return a.svc.Repository.Update(ctx, holder, env.Expected, env, func(s *domain.Cardholder) ([]domain.Event, error) {
			cmd := build(s, env, p, b)
			if needsCard(cmd) && currentCardNo(s) == "" && s.Registered {
				return nil, domain.InvalidTransition(s.Status(), cmd.CommandName())
			}
			if _, starts := cmd.(domain.ApplyThroughChannel); starts {
				if err := gate(s); err != nil {
					return nil, err
				}
			}
			return domain.Decide(s, cmd)
		})
	})
}

// needsCard reports whether cmd acts on the current card.
func needsCard(cmd domain.CardholderCommand) bool {
	switch cmd.(type) {
	case domain.ChangePhone, domain.ApplyThroughChannel:
		return false
	}
	return true
}

// channelRoute is a row of the administrator's channel commands.
func channelRoute[B any](a *API, path, summary string, example B, build func(B) domain.ChannelCommand) httpapi.Route {
	full := "/v1/ecard/channels/{code}" + path
	return httpapi.Route{
		Method: http.MethodPost, Path: full, Roles: rolesAdmin, Summary: summary, Request: example,
		Params: []httpapi.Param{httpapi.Operator},
		Responses: []httpapi.Response{
			{Status: http.StatusOK, Body: ChannelView{Channel: "rsapp", Suspended: true, Reason: "suspected leak of the app's keys", Revision: &exampleChannelRevision},
				Headers: []httpapi.Param{httpapi.ETagHeader}},
			{Status: http.StatusConflict, Description: "Suspended already (channel_already_suspended), or not suspended (channel_not_suspended)"},
		},
		Handler: func(c echo.Context) (err error) {
			defer func() { a.metrics.observe(full, err) }()
			env, err := envelopeFrom(c)
			if err != nil {
				return err
			}
			var b B
			if err := httpapi.DecodeJSON(c, &b); err != nil {
				return err
			}
			out, err := a.svc.Channels.Handle(c.Request().Context(), c.Param("code"), env, build(b))
			if err != nil {
				return a.commandError(err)
			}
			rev := out.Revision
			c.Response().Header().Set("ETag", etag(rev))
			return c.JSON(http.StatusOK, ChannelView{Channel: c.Param("code"), Suspended: out.State.Suspended, Reason: out.State.Reason, Revision: &rev})
		},
	}
}

func (a *API) getChannel(c echo.Context) error {
	code := c.Param("code")
	if err := domain.ValidateChannelCode(code); err != nil {
		return a.commandError(domain.Invalid(domain.FieldError{Field: "code", Code: domain.CodeInvalidValue, Message: err.Error()}))
	}
	l, err := a.svc.Channels.Load(c.Request().Context(), code)
	if err != nil {
		return err
	}
	v := ChannelView{Channel: code, Suspended: l.State.Suspended, Reason: l.State.Reason}
	if l.Exists {
		rev := l.Revision
		v.Revision = &rev
	}
	return c.JSON(http.StatusOK, v)
}

func (a *API) listConsents(c echo.Context) error {
	env, err := envelopeFrom(c)
	if err != nil {
		return err
	}
	// Consents are no personal data of the holder's card: no consent
	// scope, no access record; a channel still needs the binding.
	l, err := a.svc.ChannelRead(c.Request().Context(), env, c.Param("id"), "", "")
	if err != nil {
		return a.commandError(err)
	}
	now := a.now()
	v := ConsentsView{CardholderID: l.State.ID, Consents: []ConsentView{}}
	for _, g := range l.State.Consents {
		if env.Scope.Channel != "" && g.Channel != env.Scope.Channel {
			continue
		}
		v.Consents = append(v.Consents, ConsentView{Channel: g.Channel, Scopes: g.Scopes, GrantedAt: g.GrantedAt,
			ExpiresAt: g.ExpiresAt, Expired: !now.Before(g.ExpiresAt), Bound: l.State.ECardBoundTo(g.Channel)})
	}
	c.Response().Header().Set("ETag", etag(l.Revision))
	return c.JSON(http.StatusOK, v)
}

func (a *API) selfStatus(c echo.Context) error {
	l, err := a.channelRead(c, domain.ConsentCardStatus, "status")
	if err != nil {
		return err
	}
	s := l.State
	v := SelfStatusView{CardholderID: s.ID, CardStatus: s.Status(), ECardUsable: s.ECardUsable(), Revision: l.Revision}
	if s.Card != nil {
		v.CardNo = s.Card.CardNo
		v.CancellationRequested = s.Card.PendingCancellation != nil
	}
	return c.JSON(http.StatusOK, v)
}

func (a *API) selfProduction(c echo.Context) error {
	l, err := a.channelRead(c, domain.ConsentCardStatus, "production")
	if err != nil {
		return err
	}
	s := l.State
	v := ProductionView{CardholderID: s.ID, Status: s.Status(), Revision: l.Revision}
	if card := s.Card; card != nil {
		v.ApplicationID, v.Kind, v.BankCode, v.CardNo = card.ApplicationID, card.Kind, card.BankCode, card.CardNo
		v.CustodyAt, v.LastFailure = card.Custody.At, card.LastFailure
	}
	return c.JSON(http.StatusOK, v)
}

// channelRead is Service.ChannelRead for the request's caller and {id}.
func (a *API) channelRead(c echo.Context, scope domain.ConsentScope, operation string) (Loaded, error) {
	env, err := envelopeFrom(c)
	if err != nil {
		return Loaded{}, err
	}
	l, err := a.svc.ChannelRead(c.Request().Context(), env, c.Param("id"), scope, operation)
	if err != nil {
		return Loaded{}, a.commandError(err)
	}
	return l, nil
}
