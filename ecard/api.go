package ecard

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// API serves the e-card code routes.
type API struct {
	s *Service
}

// NewAPI serves s.
func NewAPI(s *Service) *API { return &API{s: s} }

type issueBody struct {
	CardholderID string `json:"cardholder_id"`
	Format       string `json:"format,omitempty"` // png (default) or svg
}

// IssueResponse is a new code: its text, expiry and QR image as a data: URL.
type IssueResponse struct {
	Code       string `json:"code"`
	ExpiresAt  string `json:"expires_at"`
	TTLSeconds int    `json:"ttl_seconds"`
	Format     string `json:"format"`
	QRVersion  int    `json:"qr_version"`
	Image      string `json:"image"`
}

type verifyBody struct {
	Code string `json:"code"`
}

// KeyView is one published key.
type KeyView struct {
	KID       string  `json:"kid"`
	Alg       string  `json:"alg"`
	PublicKey string  `json:"public_key"` // base64url, no padding, 32 bytes
	NotBefore string  `json:"not_before"`
	NotAfter  *string `json:"not_after"` // null while the key signs
}

// KeysResponse is the key endpoint's body.
type KeysResponse struct {
	Keys []KeyView `json:"keys"`
}

// exampleCode is a v1 code for the OpenAPI examples.
var exampleCode = "AEFAWDANNMJ7Z7ABAIBQIBIGA4EECMJQHE4DIOJRGYCXE43BOBYPVMH3RICYBHGMQUQZRCKWRKBU75T5VSG2W3CRWMVJG3KBL2RRDRQKAENGV4RJRWEGGVZ56JGZOPPUWXAIGFPEEACD7PYWSPAZ7Z4MBM"

// maxBody: a code is at most MaxCodeLen characters; a little JSON around it.
const maxBody = 4 << 10

// Routes is the e-card route table.
func (a *API) Routes() []httpapi.Route {
	exp := "2026-12-05T12:01:00Z"
	example := exampleCode // not a problem code: keep it out of Code: "…" literals
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/ecard/keys",
			Summary:  "The public keys that verify e-card codes (the signer and rotated-out keys until their retirement); no key needed",
			Response: KeysResponse{Keys: []KeyView{{KID: "0a0b0c0d", Alg: "Ed25519", PublicKey: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", NotBefore: "2026-12-05T11:00:00Z"}}},
			Responses: []httpapi.Response{{Status: http.StatusOK, Description: "The signer first (not_after null), then " +
				"rotated-out keys until their retirement, newest first", Headers: []httpapi.Param{httpapi.Header("Cache-Control", "Verifiers may cache the list a minute", "public, max-age=60")}}},
			Handler: a.keys},
		{Method: http.MethodPost, Path: "/v1/ecard/codes", Roles: []httpapi.Role{httpapi.RoleChannel}, Status: http.StatusCreated,
			Summary: "A channel makes a dynamic identity code (动态码) for a holder bound to it who consented to identity use: " +
				"text, expiry and QR image (docs/ecard.md)",
			Request:  issueBody{CardholderID: "077a70c7b0c1d2e3f4a5b6c7d8e9f0a1", Format: FormatPNG},
			Response: IssueResponse{Code: example, ExpiresAt: exp, TTLSeconds: 60, Format: FormatPNG, QRVersion: 6, Image: "data:image/png;base64,iVBORw0KGgo…"},
			Responses: []httpapi.Response{
				{Status: http.StatusForbidden, Description: "channel_suspended, channel_closed, holder_not_bound, consent_required " +
					"(identity), client_without_channel; or the role or region scope refuses (forbidden, scope_region)"},
				{Status: http.StatusNotFound, Description: "cardholder_not_found"},
				{Status: http.StatusConflict, Description: "card_not_usable (lost, temporarily lost, cancelled, not issued) or ecard_revoked"},
			},
			MaxBody: maxBody, Handler: a.issue},
		{Method: http.MethodPost, Path: "/v1/ecard/payment-codes", Roles: []httpapi.Role{httpapi.RoleChannel}, Status: http.StatusCreated,
			Summary: "A channel makes a payment code (付款码) for a holder bound to it, to show to a merchant who scans it " +
				"and pays an order with it once (POST /v1/payment/orders/{id}/payment); the identity code's layout with " +
				"first byte 0x02, so neither passes for the other (docs/platform.md)",
			Request:  issueBody{CardholderID: "077a70c7b0c1d2e3f4a5b6c7d8e9f0a1", Format: FormatPNG},
			Response: IssueResponse{Code: example, ExpiresAt: exp, TTLSeconds: 60, Format: FormatPNG, QRVersion: 6, Image: "data:image/png;base64,iVBORw0KGgo…"},
			Responses: []httpapi.Response{
				{Status: http.StatusForbidden, Description: "channel_suspended, holder_not_bound, client_without_channel; " +
					"or the role or region scope refuses (forbidden, scope_region)"},
				{Status: http.StatusNotFound, Description: "cardholder_not_found"},
				{Status: http.StatusConflict, Description: "card_not_usable (lost, temporarily lost, cancelled, not issued) or ecard_revoked"},
			},
			MaxBody: maxBody, Handler: a.issuePayment},
		{Method: http.MethodPost, Path: "/v1/ecard/verify", Roles: []httpapi.Role{httpapi.RoleTerminal},
			Summary: "A terminal verifies a code once: the holder's masked identity and card status as of now, or a refusal " +
				"(docs/ecard.md)",
			Request:  verifyBody{Code: example},
			Response: Verified{CardNo: "A10984916", Name: "张*", IDNumber: "110***********002X", CardStatus: "active", Channel: "rsapp", VerifiedAt: exp, VerificationID: "0b5e5d0a-4b0e-5c4e-9a57-2a1f3c4d5e6f"},
			Responses: []httpapi.Response{
				{Status: http.StatusBadRequest, Description: "code_malformed (truncated, padded, re-encoded, oversized, " +
					"unknown version), or a bad body (malformed_json, unknown_field, wrong_type)"},
				{Status: http.StatusForbidden, Description: "channel_suspended, channel_closed or holder_not_bound (the code's channel); " +
					"or the role refuses (forbidden)"},
				{Status: http.StatusConflict, Description: "code_used (verified before, by any terminal), card_not_usable " +
					"(lost, temporarily lost, cancelled, transferred, replaced) or ecard_revoked"},
				{Status: http.StatusUnprocessableEntity, Description: "code_bad_signature (unknown or retired key, wrong " +
					"signature) or code_expired"},
			},
			MaxBody: maxBody, Handler: a.verify},
	}
}

func (a *API) keys(c echo.Context) error {
	keys, err := a.s.ring.Published(c.Request().Context())
	if err != nil {
		return err
	}
	out := KeysResponse{Keys: make([]KeyView, 0, len(keys))}
	for _, k := range keys {
		v := KeyView{KID: k.ID.String(), Alg: "Ed25519", PublicKey: base64.RawURLEncoding.EncodeToString(k.Public),
			NotBefore: k.NotBefore.UTC().Format(time.RFC3339)}
		if k.NotAfter != nil {
			s := k.NotAfter.UTC().Format(time.RFC3339)
			v.NotAfter = &s
		}
		out.Keys = append(out.Keys, v)
	}
	// Verifiers poll this; a short cache keeps them from hammering it while
	// a rotation still shows within a minute.
	c.Response().Header().Set("Cache-Control", "public, max-age=60")
	return c.JSON(http.StatusOK, out)
}

func (a *API) issue(c echo.Context) error { return a.issueCode(c, a.s.Issue) }

func (a *API) issuePayment(c echo.Context) error { return a.issueCode(c, a.s.IssuePayment) }

func (a *API) issueCode(c echo.Context, issue func(context.Context, Request, string, string) (Issued, error)) error {
	var b issueBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.Format == "" {
		b.Format = FormatPNG
	}
	var fields []httpapi.FieldError
	if b.CardholderID == "" {
		fields = append(fields, httpapi.FieldError{Field: "cardholder_id", Code: "required", Message: "cardholder_id is required"})
	}
	if b.Format != FormatPNG && b.Format != FormatSVG {
		fields = append(fields, httpapi.FieldError{Field: "format", Code: "invalid_value", Message: "format is png or svg"})
	}
	if len(fields) > 0 {
		return httpapi.BadRequest(httpapi.CodeInvalid, "invalid code request", fields...)
	}
	out, err := issue(c.Request().Context(), request(c), b.CardholderID, b.Format)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, IssueResponse{Code: out.Code, ExpiresAt: out.ExpiresAt.Format(time.RFC3339),
		TTLSeconds: int(a.s.ttl / time.Second), Format: out.Format, QRVersion: out.Version, Image: out.DataURL()})
}

func (a *API) verify(c echo.Context) error {
	var b verifyBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.Code == "" {
		return httpapi.BadRequest(CodeMalformed, "code is required",
			httpapi.FieldError{Field: "code", Code: "required", Message: "code is required"})
	}
	out, err := a.s.Verify(c.Request().Context(), request(c), b.Code)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// RequestOf is who calls and the request's metadata, for other modules
// that call the service (payments).
func RequestOf(c echo.Context) Request { return request(c) }

func request(c echo.Context) Request {
	p, _ := httpapi.PrincipalFrom(c)
	return Request{Principal: p, RequestID: httpapi.RequestID(c), CorrelationID: httpapi.CorrelationID(c), RemoteAddr: c.RealIP()}
}
