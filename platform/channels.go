package platform

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// The electronic channels (电子渠道开通): an administrator registers the
// channel apps, each an e-card channel client, and opens or closes them.
// The record is the channel's stream (domain.ECardChannels, the same one
// suspension writes), through the one write pipeline (commands.ChannelGate);
// platform_channels only lists the registered codes.

// channelClientPrefix starts the client name of a registered channel app.
const channelClientPrefix = "channel-"

type (
	channelRegistration struct {
		Code string             `json:"code"`
		Name string             `json:"name"`
		Kind domain.ChannelKind `json:"kind"`
	}
	channelOpening struct {
		Reason string `json:"reason,omitempty"`
	}
	channelClosing struct {
		Reason string `json:"reason"`
	}
	// ChannelAppView is a registered channel app.
	ChannelAppView struct {
		Code      string             `json:"code"`
		Name      string             `json:"name"`
		Kind      domain.ChannelKind `json:"kind"`
		Open      bool               `json:"open"`
		Suspended bool               `json:"suspended"`
		Reason    string             `json:"reason,omitempty"` // of the last opening or closing
		Client    string             `json:"client"`
		Revision  uint64             `json:"revision"`
	}
	// ChannelCredential is a new channel app with its channel client's
	// bearer key, shown once.
	ChannelCredential struct {
		Channel ChannelAppView `json:"channel"`
		Client  string         `json:"client"`
		APIKey  string         `json:"api_key"`
	}
	// ChannelList is every registered channel app.
	ChannelList struct {
		Channels []ChannelAppView `json:"channels"`
	}
)

var rolesAdminIntegrator = []httpapi.Role{httpapi.RoleAdmin, httpapi.RoleIntegrator}

func (a *API) channelRoutes() []httpapi.Route {
	const example = "icbc-app"
	view := ChannelAppView{Code: example, Name: "工银e生活", Kind: domain.ChannelICBC, Client: channelClientPrefix + example}
	opened := view
	opened.Open, opened.Reason, opened.Revision = true, "协议已签", 1
	closed := opened
	closed.Open, closed.Reason, closed.Revision = false, "协议到期", 2
	command := []httpapi.Param{httpapi.IdempotencyKey}
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/platform/channels", Roles: rolesAdmin, Status: http.StatusCreated,
			Summary: "An administrator registers an electronic channel app (人社 app, ICBC, ABC, BOC, CCB, PSBC, rural credit, " +
				"UnionPay): the answer holds its e-card channel client's key, shown once; the channel stays closed until opened",
			Request: channelRegistration{Code: view.Code, Name: view.Name, Kind: view.Kind}, Params: command,
			Response: ChannelCredential{Channel: view, Client: view.Client, APIKey: "clk_9dj2…"}, Handler: a.registerChannel,
			Responses: httpapi.Problems(http.StatusConflict)},
		{Method: http.MethodGet, Path: "/v1/platform/channels", Roles: rolesAdminIntegrator,
			Summary: "The registered electronic channel apps and whether each is open", Response: ChannelList{Channels: []ChannelAppView{opened}},
			Handler: a.listChannels},
		{Method: http.MethodGet, Path: "/v1/platform/channels/{code}", Roles: rolesAdminIntegrator,
			Summary: "One registered electronic channel app", Response: opened, Handler: a.getChannel,
			Responses: httpapi.Problems(http.StatusNotFound)},
		{Method: http.MethodPost, Path: "/v1/platform/channels/{code}/opening", Roles: rolesAdmin,
			Summary: "Open the channel (电子渠道开通): its e-card requests and codes are accepted",
			Request: channelOpening{Reason: "协议已签"}, RequestOptional: true, Params: command, Response: opened,
			Handler: a.openChannel, Responses: httpapi.Problems(http.StatusNotFound, http.StatusConflict)},
		{Method: http.MethodPost, Path: "/v1/platform/channels/{code}/closing", Roles: rolesAdmin,
			Summary: "Close the channel: its e-card requests and every code it made are refused (403 channel_closed) until it is opened again",
			Request: channelClosing{Reason: "协议到期"}, Params: command, Response: closed,
			Handler: a.closeChannel, Responses: httpapi.Problems(http.StatusNotFound, http.StatusConflict)},
	}
}

func (a *API) registerChannel(c echo.Context) error {
	var b channelRegistration
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if err := validCode(b.Code); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	ctx := c.Request().Context()
	current, err := a.channels.Load(ctx, b.Code)
	if err != nil {
		return err
	}
	client := channelClientPrefix + b.Code
	if current.State.Registered {
		// A crash between the append and the credential: make it now.
		if _, err := auth.Get(ctx, a.db, client); !errors.Is(err, auth.ErrNoClient) {
			return problem(domain.Conflict(domain.CodeChannelRegistered, "channel %s is registered already", b.Code))
		}
	} else if _, err := a.channels.Handle(ctx, b.Code, a.envelope(c), domain.RegisterChannelApp{Name: b.Name, Kind: b.Kind, By: p.Client}); err != nil {
		return problem(err)
	}
	if err := putChannel(ctx, a.db, b.Code); err != nil {
		return err
	}
	key, err := auth.Add(ctx, a.db, auth.Client{Name: client, Role: httpapi.RoleChannel, Channel: b.Code})
	if errors.Is(err, auth.ErrClientExists) {
		return problem(domain.Conflict(domain.CodeChannelRegistered, "channel %s is registered already", b.Code))
	}
	if err != nil {
		return fmt.Errorf("client of channel %s: %w", b.Code, err)
	}
	v, err := a.channelView(ctx, b.Code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, ChannelCredential{Channel: v, Client: client, APIKey: key})
}

func (a *API) listChannels(c echo.Context) error {
	ctx := c.Request().Context()
	codes, err := channelCodes(ctx, a.db)
	if err != nil {
		return err
	}
	out := ChannelList{Channels: []ChannelAppView{}}
	for _, code := range codes {
		v, err := a.channelView(ctx, code)
		if err != nil {
			return err
		}
		out.Channels = append(out.Channels, v)
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) getChannel(c echo.Context) error {
	v, err := a.channelView(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

func (a *API) openChannel(c echo.Context) error {
	var b channelOpening
	if err := httpapi.DecodeOptionalJSON(c, &b); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	return a.decideChannel(c, domain.OpenChannel{By: p.Client, Reason: b.Reason})
}

func (a *API) closeChannel(c echo.Context) error {
	var b channelClosing
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	return a.decideChannel(c, domain.CloseChannel{By: p.Client, Reason: b.Reason})
}

func (a *API) decideChannel(c echo.Context, cmd domain.ChannelCommand) error {
	code := c.Param("code")
	if err := validCode(code); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := a.channels.Handle(ctx, code, a.envelope(c), cmd); err != nil {
		return problem(err)
	}
	v, err := a.channelView(ctx, code)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, v)
}

// channelView reads channel code's stream; a channel never registered is
// 404 channel_not_registered.
func (a *API) channelView(ctx context.Context, code string) (ChannelAppView, error) {
	if err := validCode(code); err != nil {
		return ChannelAppView{}, err
	}
	l, err := a.channels.Load(ctx, code)
	if err != nil {
		return ChannelAppView{}, err
	}
	s := l.State
	if !s.Registered {
		return ChannelAppView{}, channelNotFound(code)
	}
	return ChannelAppView{Code: code, Name: s.Name, Kind: s.Kind, Open: s.Open, Suspended: s.Suspended, Reason: s.OpenReason,
		Client: channelClientPrefix + code, Revision: l.Revision}, nil
}

// validCode refuses a malformed channel code (400, as GET
// /v1/ecard/channels/{code} does): no stream can have it.
func validCode(code string) error {
	if err := domain.ValidateChannelCode(code); err != nil {
		return problem(domain.Invalid(domain.FieldError{Field: "code", Code: domain.CodeInvalidValue, Message: err.Error()}))
	}
	return nil
}

func channelNotFound(code string) error {
	return problem(domain.NotFound(domain.CodeChannelNotRegistered, "channel %s is not registered", code))
}
