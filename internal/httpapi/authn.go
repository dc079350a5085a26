package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/internal/unavailable"
)

// Problem codes of authentication failures (all 401) and rate limiting.
const (
	CodeSignatureMalformed = "signature_malformed"
	CodeSignatureStale     = "signature_stale"
	CodeSignatureInvalid   = "signature_invalid"
	CodeNonceReplayed      = "nonce_replayed"
	CodeRateLimited        = "rate_limited"
	// CodeAppScope: an open-platform app called a route its type may not.
	CodeAppScope = "app_scope"
)

// authenticator is the per-server authentication step: it finds the
// principal of a request by verified certificate, signature or bearer key.
type authenticator struct {
	bearer   Authenticator
	signed   SignedAuthenticator
	certs    CertAuthenticator
	limiter  *rateLimiter
	now      func() time.Time
	appQuota func(context.Context, Principal) error
}

// principal authenticates req. The order is fixed: a verified client
// certificate that maps to a client wins (the TLS layer proved it); then a
// signature, if the request carries one (a bad signature is never retried as
// a bearer key); then the bearer key. A certificate mapping to no client is
// treated as transport only and the request must authenticate otherwise.
func (a *authenticator) principal(c echo.Context, displayToken bool) (Principal, error) {
	req := c.Request()
	ctx := req.Context()
	if a.certs != nil && req.TLS != nil && len(req.TLS.VerifiedChains) > 0 && len(req.TLS.VerifiedChains[0]) > 0 {
		p, err := a.certs.AuthenticateCert(ctx, req.TLS.VerifiedChains[0][0])
		switch {
		case err == nil:
			p.Method = MethodTLS
			return p, nil
		case !errors.Is(err, ErrUnauthenticated):
			return Principal{}, authUnavailable(err)
		}
	}
	if IsSigned(req.Header) {
		return a.verifySigned(c)
	}
	if token := req.URL.Query().Get(QueryDisplayToken); displayToken && token != "" && req.Header.Get(echo.HeaderAuthorization) == "" {
		return a.displayPrincipal(c, token)
	}
	scheme, key, ok := strings.Cut(req.Header.Get(echo.HeaderAuthorization), " ")
	key = strings.TrimSpace(key)
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return Principal{}, NewProblem(http.StatusUnauthorized, CodeUnauthenticated,
			"send Authorization: Bearer <API key>, a signed request (X-CL-Signature) or a registered client certificate")
	}
	p, err := a.bearer.Authenticate(ctx, key)
	if errors.Is(err, ErrUnauthenticated) {
		return Principal{}, NewProblem(http.StatusUnauthorized, CodeUnauthenticated, "the API key is not valid")
	}
	if err != nil {
		return Principal{}, authUnavailable(err)
	}
	p.Method = MethodBearer
	return p, nil
}

// QueryDisplayToken is the query parameter that carries a display key.
const QueryDisplayToken = "display_token"

// displayPrincipal authenticates the key of ?display_token=; it must be a
// display client's.
func (a *authenticator) displayPrincipal(c echo.Context, token string) (Principal, error) {
	p, err := a.bearer.Authenticate(c.Request().Context(), token)
	if errors.Is(err, ErrUnauthenticated) {
		return Principal{}, NewProblem(http.StatusUnauthorized, CodeUnauthenticated, "the display token is not valid")
	}
	if err != nil {
		return Principal{}, authUnavailable(err)
	}
	if p.Role != RoleDisplay {
		return Principal{}, NewProblem(http.StatusUnauthorized, CodeUnauthenticated,
			"only a display client's key may be sent as "+QueryDisplayToken+"; send other keys as Authorization: Bearer")
	}
	p.Method = MethodBearer
	return p, nil
}

func (a *authenticator) verifySigned(c echo.Context) (Principal, error) {
	if a.signed == nil {
		return Principal{}, NewProblem(http.StatusUnauthorized, CodeUnauthenticated, "signed requests are not enabled on this server")
	}
	req := c.Request()
	ctx := req.Context()
	var body []byte
	if req.Body != nil {
		var err error
		// The body limit is already in place: an oversized body is a 413.
		if body, err = io.ReadAll(req.Body); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return Principal{}, decodeProblem(err)
			}
			return Principal{}, fmt.Errorf("read signed body: %w", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	s, err := ParseSignedRequest(req, body)
	if err != nil {
		return Principal{}, signatureProblem(err)
	}
	now := a.now()
	at, err := s.Time()
	if err != nil {
		return Principal{}, signatureProblem(err)
	}
	if d := now.Sub(at); d > MaxClockSkew || d < -MaxClockSkew {
		// Refused before any lookup: stale requests cost nothing.
		return Principal{}, signatureProblem(ErrSignatureStale)
	}
	p, key, err := a.signed.SigningKey(ctx, s.Client)
	if errors.Is(err, ErrUnauthenticated) {
		return Principal{}, NewProblem(http.StatusUnauthorized, CodeUnauthenticated, "the client is unknown or does not sign requests")
	}
	if err != nil {
		return Principal{}, authUnavailable(err)
	}
	if err := s.Verify(key, now); err != nil {
		return Principal{}, signatureProblem(err)
	}
	// Remembered past the latest moment the timestamp is still accepted.
	err = a.signed.UseNonce(ctx, s.Client, s.Nonce, at.Add(MaxClockSkew+time.Minute))
	if errors.Is(err, ErrNonceReplayed) {
		return Principal{}, signatureProblem(err)
	}
	if err != nil {
		return Principal{}, authUnavailable(err)
	}
	p.Method = MethodHMAC
	if key.Scheme == SignatureSchemeEd25519 {
		p.Method = MethodEd25519
	}
	return p, nil
}

func signatureProblem(err error) *Problem {
	switch {
	case errors.Is(err, ErrSignatureStale):
		return NewProblem(http.StatusUnauthorized, CodeSignatureStale,
			fmt.Sprintf("%s must be within %s of the server clock", HeaderTimestamp, MaxClockSkew))
	case errors.Is(err, ErrSignatureInvalid):
		return NewProblem(http.StatusUnauthorized, CodeSignatureInvalid, "the signature does not match the request")
	case errors.Is(err, ErrNonceReplayed):
		return NewProblem(http.StatusUnauthorized, CodeNonceReplayed, "this nonce was already used; sign every request with a new one")
	}
	return NewProblem(http.StatusUnauthorized, CodeSignatureMalformed, err.Error())
}

// authUnavailable: the client could not be looked up, so the request can
// neither be served nor refused. An outage names its dependency.
func authUnavailable(err error) error {
	p := NewProblem(http.StatusServiceUnavailable, CodeUnavailable, "authentication is unavailable")
	if u, ok := unavailable.Classify(err); ok {
		p = DependencyUnavailable(u.Dependency)
	}
	return fmt.Errorf("authenticate: %w: %w", err, p)
}

// middleware authenticates, rate-limits and checks the role, in that order.
// An app (RoleApp) is checked against the route's app types instead of its
// roles, then spends its quota.
func (a *authenticator) middleware(roles []Role, displayToken bool, appTypes []string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p, err := a.principal(c, displayToken)
			if err != nil {
				return err
			}
			c.Set(ctxPrincipal, p)
			c.SetRequest(c.Request().WithContext(ContextWithPrincipal(c.Request().Context(), p)))
			if a.limiter != nil {
				if wait, ok := a.limiter.allow(p, a.now()); !ok {
					secs := max(1, int((wait+time.Second-1)/time.Second))
					c.Response().Header().Set("Retry-After", fmt.Sprint(secs))
					return NewProblem(http.StatusTooManyRequests, CodeRateLimited,
						fmt.Sprintf("too many requests from this client; retry after %d s", secs))
				}
			}
			if p.Role == RoleApp {
				if !slices.Contains(appTypes, p.AppType) {
					return NewProblem(http.StatusForbidden, CodeAppScope,
						fmt.Sprintf("an app of type %q may not call this endpoint; see GET /v1/platform/catalogue", p.AppType))
				}
				if a.appQuota != nil {
					if err := a.appQuota(c.Request().Context(), p); err != nil {
						return err
					}
				}
				return next(c)
			}
			if p.Role != RoleAdmin && !slices.Contains(roles, p.Role) {
				return NewProblem(http.StatusForbidden, CodeForbidden,
					fmt.Sprintf("role %q may not call this endpoint", p.Role))
			}
			return next(c)
		}
	}
}
