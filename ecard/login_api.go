package ecard

import (
	"embed"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/internal/httpapi"
)

//go:embed loginpage/login.html loginpage/login.js
var loginPage embed.FS

// LoginAPI serves scan-to-login: the public page and session routes, and
// the channel's confirmation.
type LoginAPI struct {
	s *LoginService
}

// NewLoginAPI serves s.
func NewLoginAPI(s *LoginService) *LoginAPI { return &LoginAPI{s: s} }

// PollSecretHeader carries the page's poll secret on GET of a session.
const PollSecretHeader = "X-Login-Poll-Secret"

// LoginSessionView is a new session as the page gets it.
type LoginSessionView struct {
	SessionID  string `json:"session_id"`
	QRText     string `json:"qr_text"`     // LoginMarker + session id: what the QR code holds
	QRImage    string `json:"qr_image"`    // the QR code, an SVG data: URL
	PollSecret string `json:"poll_secret"` // send it as X-Login-Poll-Secret when polling
	ExpiresAt  string `json:"expires_at"`
	TTLSeconds int    `json:"ttl_seconds"`
}

// LoginStatusView is a polled session.
type LoginStatusView struct {
	SessionID string           `json:"session_id"`
	Status    string           `json:"status"` // pending | confirmed
	ExpiresAt string           `json:"expires_at"`
	Assertion string           `json:"assertion,omitempty"` // confirmed: the signed holder assertion (compact JWS, EdDSA)
	Holder    *LoginHolderView `json:"holder,omitempty"`
}

// LoginHolderView is the assertion's claims, for the page to show.
type LoginHolderView struct {
	Subject   string `json:"subject"` // pseudonymous holder id
	Name      string `json:"name"`    // masked
	Channel   string `json:"channel"`
	IssuedAt  string `json:"issued_at"`
	ExpiresAt string `json:"expires_at"`
}

type confirmBody struct {
	CardholderID string `json:"cardholder_id"`
}

// ConfirmationView is the channel's answer.
type ConfirmationView struct {
	SessionID   string `json:"session_id"`
	Status      string `json:"status"`
	ConfirmedAt string `json:"confirmed_at"`
	Name        string `json:"name"` // masked, for the app to show
}

const exampleSession = "MFRGGZDFMZTWQ2LKNNWG23TPOA"

// Routes is the scan-to-login route table.
func (a *LoginAPI) Routes() []httpapi.Route {
	at := "2026-12-05T12:02:00Z"
	file := func(path, name, contentType, example string) httpapi.Route {
		return httpapi.Route{Method: http.MethodGet, Path: path, Summary: "Scan-to-login page (扫码登录): " + name + "; public, no key",
			Responses: []httpapi.Response{{Status: http.StatusOK, ContentType: contentType[:strings.Index(contentType, ";")], Body: example}},
			Handler: func(c echo.Context) error {
				b, err := loginPage.ReadFile("loginpage/" + name)
				if err != nil {
					return err
				}
				c.Response().Header().Set("Cache-Control", "no-cache")
				return c.Blob(http.StatusOK, contentType, b)
			}}
	}
	return []httpapi.Route{
		file("/ecard/login", "login.html", "text/html; charset=utf-8", "<!doctype html>\n<html lang=\"zh-CN\">…"),
		file("/ecard/login.js", "login.js", "text/javascript; charset=utf-8", "// Scan-to-login page…"),
		{Method: http.MethodPost, Path: "/v1/ecard/login-sessions", Status: http.StatusCreated,
			Summary: "Open a scan-to-login session (public, no key; rate-limited per address, CARDLEDGER_ECARD_LOGIN_RATE a minute): " +
				"its QR code holds only the server's marker and the session id; it expires after CARDLEDGER_ECARD_LOGIN_TTL",
			Response: LoginSessionView{SessionID: exampleSession, QRText: LoginMarker + exampleSession, QRImage: "data:image/svg+xml;base64,PHN2Zy…",
				PollSecret: "q0Yw3m1c0vX2yS6J9m8Zf7c1i0S8kQ4T5n6B2a9dE1Y", ExpiresAt: at, TTLSeconds: 120},
			Responses: []httpapi.Response{{Status: http.StatusTooManyRequests,
				Description: "rate_limited: this address opened CARDLEDGER_ECARD_LOGIN_RATE sessions within the minute; retry after Retry-After"}},
			MaxBody: 1 << 10, Handler: a.create},
		{Method: http.MethodGet, Path: "/v1/ecard/login-sessions/{id}",
			Summary: "Poll a login session (public; the page's poll secret in X-Login-Poll-Secret): pending, or confirmed with the signed " +
				"holder assertion (EdDSA compact JWS, key id in its header, verifiable with GET /v1/ecard/keys)",
			Response: LoginStatusView{SessionID: exampleSession, Status: LoginConfirmed, ExpiresAt: at, Assertion: "eyJhbGciOiJFZERTQSIsImtpZCI6IjBhMGIwYzBkIiwidHlwIjoiSldUIn0.eyJpc3Mi…",
				Holder: &LoginHolderView{Subject: "3f6c1d0e9b8a7f6e5d4c3b2a19081726", Name: "张*", Channel: "rsapp", IssuedAt: at, ExpiresAt: "2026-12-05T12:07:00Z"}},
			Params: []httpapi.Param{{Name: PollSecretHeader, In: "header", Required: true, Example: "q0Yw3m1c0vX2yS6J9m8Zf7c1i0S8kQ4T5n6B2a9dE1Y",
				Description: "The poll_secret the session was opened with (only the page that opened it knows it)"}},
			Responses: []httpapi.Response{
				{Status: http.StatusNotFound, Description: "login_session_not_found: no such session, or not this poll secret"},
				{Status: http.StatusGone, Description: "login_session_expired: the session (or its assertion) expired; open a new one"},
			},
			Handler: a.poll},
		{Method: http.MethodPost, Path: "/v1/ecard/login-sessions/{id}/confirmation", Roles: []httpapi.Role{httpapi.RoleChannel},
			Summary: "A channel confirms a login session its app scanned, for a holder bound to it who consented to identity use " +
				"(channel not suspended); once per session; recorded as an access under the holder's consent",
			Request:  confirmBody{CardholderID: "077a70c7b0c1d2e3f4a5b6c7d8e9f0a1"},
			Response: ConfirmationView{SessionID: exampleSession, Status: LoginConfirmed, ConfirmedAt: at, Name: "张*"},
			Responses: []httpapi.Response{
				{Status: http.StatusForbidden, Description: "channel_suspended, channel_closed, holder_not_bound, consent_required (identity), " +
					"client_without_channel; or the role or region scope refuses (forbidden, scope_region)"},
				{Status: http.StatusNotFound, Description: "login_session_not_found or cardholder_not_found"},
				{Status: http.StatusConflict, Description: "login_session_confirmed (a session is confirmed once), " +
					"card_not_usable (lost, temporarily lost, cancelled) or ecard_revoked"},
				{Status: http.StatusGone, Description: "login_session_expired"},
			},
			MaxBody: maxBody, Handler: a.confirm},
	}
}

func (a *LoginAPI) create(c echo.Context) error {
	// The TCP peer, not X-Forwarded-For, which any client can write: behind
	// a reverse proxy every page shares the proxy's bucket (raise
	// CARDLEDGER_ECARD_LOGIN_RATE there).
	n, err := a.s.Create(c.Request().Context(), echo.ExtractIPDirect()(c.Request()))
	if err != nil {
		return err
	}
	q, err := NewQR(n.QRText)
	if err != nil {
		return err
	}
	img, media, err := q.Image(FormatSVG)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, LoginSessionView{SessionID: n.ID, QRText: n.QRText,
		QRImage: Issued{Image: img, MediaType: media}.DataURL(), PollSecret: n.PollSecret,
		ExpiresAt: n.ExpiresAt.Format(time.RFC3339), TTLSeconds: int(a.s.TTL() / time.Second)})
}

func (a *LoginAPI) poll(c echo.Context) error {
	id := c.Param("id")
	st, err := a.s.Poll(c.Request().Context(), id, c.Request().Header.Get(PollSecretHeader))
	if err != nil {
		return err
	}
	out := LoginStatusView{SessionID: id, Status: st.Status, ExpiresAt: st.ExpiresAt.Format(time.RFC3339), Assertion: st.Assertion}
	if st.Claims != nil {
		out.Holder = &LoginHolderView{Subject: st.Claims.Subject, Name: st.Claims.Name, Channel: st.Claims.Channel,
			IssuedAt: time.Unix(st.Claims.Issued, 0).UTC().Format(time.RFC3339), ExpiresAt: time.Unix(st.Claims.Expiry, 0).UTC().Format(time.RFC3339)}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

func (a *LoginAPI) confirm(c echo.Context) error {
	var b confirmBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.CardholderID == "" {
		return httpapi.BadRequest(httpapi.CodeInvalid, "cardholder_id is required",
			httpapi.FieldError{Field: "cardholder_id", Code: "required", Message: "cardholder_id is required"})
	}
	env, err := commands.EnvelopeFrom(c)
	if err != nil {
		return err
	}
	out, err := a.s.Confirm(c.Request().Context(), env, c.Param("id"), b.CardholderID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ConfirmationView{SessionID: out.SessionID, Status: LoginConfirmed,
		ConfirmedAt: out.ConfirmedAt.Format(time.RFC3339), Name: out.Name})
}
