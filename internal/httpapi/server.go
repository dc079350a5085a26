package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/internal/unavailable"
)

// DefaultMaxBody is the request body limit of routes that set none.
const DefaultMaxBody int64 = 1 << 20

// Route is one endpoint. Path uses OpenAPI templates: /v1/cards/{card_no}.
type Route struct {
	Method  string
	Path    string
	Roles   []Role // empty: public, no key needed; RoleAdmin is always allowed otherwise
	Summary string
	Handler echo.HandlerFunc
	// Request is a value of the type the handler decodes its body into,
	// filled with a real example; the OpenAPI schema is generated from the
	// type (a field is required unless its json tag says omitempty), the
	// example from the value. A string is a non-JSON body of RequestType.
	Request any
	// RequestType is the media type of Request; "" means application/json.
	RequestType string
	// RequestOptional: the body may be left out (DecodeOptionalJSON).
	RequestOptional bool
	// Response is a value of the type the handler encodes on success, with
	// Status (0 means 200): the success answer of the document. Routes
	// with other or further answers list them in Responses. Every route
	// declares at least one 2xx answer; NewServer panics otherwise.
	Response any
	Status   int
	// Responses are the route's other answers: further successes, non-JSON
	// bodies, the problems its handler returns (404, 409, 412, ...). The
	// plumbing's own (400, 401, 403, 413, 415, 429, 500, 503) are added.
	Responses []Response
	// Params are the query and header parameters the handler reads.
	Params []Param
	// MaxBody overrides the body limit, e.g. for bulk endpoints; 0 means
	// Options.MaxBody.
	MaxBody int64
	// DisplayToken lets a RoleDisplay key come in the query parameter
	// display_token instead of the Authorization header (hall screens).
	// Keys of any other role are refused there: a URL ends up in logs and
	// browser history, so only the read-only display key may travel in one.
	DisplayToken bool
	// AppTypes are the open-platform app types (domain.AppTypes) whose apps
	// (RoleApp) may call the route; an app of another type gets 403
	// app_scope. GET /v1/platform/catalogue is made from this field.
	AppTypes []string
}

// Options configure NewServer.
type Options struct {
	Auth Authenticator // bearer keys; required when any route has Roles
	// Signed enables signed requests (X-CL-Signature); nil refuses them.
	Signed SignedAuthenticator
	// Certs maps verified TLS client certificates to clients; nil ignores
	// certificates (see ServerTLSConfig for the listener side).
	Certs CertAuthenticator
	// RateLimit limits each authenticated client; the zero value disables it.
	RateLimit RateLimit
	// RateStore shares the rate-limit buckets between instances; nil keeps
	// them in this process (the cluster-wide limit is then the instance
	// count times RateLimit).
	RateStore RateStore
	// Now is the clock of signature timestamps and rate limits; nil: time.Now.
	Now     func() time.Time
	Log     *logrus.Logger // nil: JSON to stderr
	MaxBody int64          // 0: DefaultMaxBody
	Title   string         // OpenAPI info.title; default "cardledger"
	Version string         // OpenAPI info.version; default "1"
	// Health is called by GET /healthz; an error makes it 503.
	Health func(context.Context) error
	// MapError turns module errors (e.g. domain errors) into problems; it
	// returns nil for errors it does not know. Tried before the defaults.
	MapError func(error) *Problem
	// Metrics counts and times requests by route (NewMetrics); nil: none.
	Metrics *Metrics
	// Servers are the document's servers; nil: DefaultServers.
	Servers []Server
	// AppQuota spends one request of an app's quotas (RoleApp principals
	// only, after its type is allowed); a *Problem (429) refuses the call.
	// nil: apps have no quotas.
	AppQuota func(context.Context, Principal) error
}

// NewServer returns an echo server serving routes plus GET /healthz and
// GET /openapi.json. It panics on a malformed table (duplicate route,
// unknown role, missing handler, roles without an Authenticator): those are
// programming errors found at start-up.
func NewServer(opts Options, routes ...[]Route) *echo.Echo {
	if opts.Log == nil {
		opts.Log = logrus.New()
		opts.Log.SetOutput(os.Stderr)
		opts.Log.SetFormatter(&logrus.JSONFormatter{})
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Title == "" {
		opts.Title = "cardledger"
	}
	if opts.Version == "" {
		opts.Version = "1"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	authn := &authenticator{bearer: opts.Auth, signed: opts.Signed, certs: opts.Certs,
		limiter: newRateLimiter(opts.RateLimit).withStore(opts.RateStore, opts.Log), now: opts.Now,
		appQuota: opts.AppQuota}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.Server.ReadHeaderTimeout = 10 * time.Second
	e.HTTPErrorHandler = errorHandler(opts)
	templates := map[string]string{} // filled below, before any request

	var all []Route
	for _, table := range routes {
		all = append(all, table...)
	}
	var doc []byte
	all = append(all, builtinRoutes(opts)...)
	all = append(all, Route{
		Method: http.MethodGet, Path: "/openapi.json", Summary: "This OpenAPI 3.1 document, generated from the route table",
		Response: map[string]any{"openapi": "3.1.0", "info": map[string]any{"title": "cardledger", "version": "1"}},
		Handler:  func(c echo.Context) error { return c.JSONBlob(http.StatusOK, doc) },
	})
	for _, r := range all {
		checkDeclared(r)
	}
	doc, err := json.Marshal(openAPI(opts, all))
	if err != nil {
		panic(fmt.Sprintf("httpapi: openapi document: %v", err))
	}
	installResponseCheck(e, doc, templates)
	if opts.Metrics != nil {
		e.Use(opts.Metrics.middleware(templates))
	}
	e.Use(requestIDs, accessLog(opts.Log))

	seen := map[string]bool{}
	for _, r := range all {
		key := r.Method + " " + r.Path
		switch {
		case seen[key]:
			panic("httpapi: duplicate route " + key)
		case r.Handler == nil:
			panic("httpapi: route without handler " + key)
		case len(r.AppTypes) > 0 && len(r.Roles) == 0:
			panic("httpapi: route " + key + " names app types but no roles: a public route needs no app")
		case len(r.Roles) > 0 && opts.Auth == nil:
			panic("httpapi: route " + key + " needs roles but Options.Auth is nil")
		}
		for _, role := range r.Roles {
			if !role.Valid() {
				panic(fmt.Sprintf("httpapi: route %s: unknown role %q", key, role))
			}
		}
		seen[key] = true
		limit := r.MaxBody
		if limit <= 0 {
			limit = opts.MaxBody
		}
		mw := []echo.MiddlewareFunc{bodyLimit(limit)}
		if len(r.Roles) > 0 {
			mw = append(mw, authn.middleware(r.Roles, r.DisplayToken, r.AppTypes))
		}
		mw = append(mw, utf8Params)
		templates[echoPath(r.Path)] = r.Path
		e.Add(r.Method, echoPath(r.Path), r.Handler, mw...)
	}
	return e
}

// Health is the body of GET /healthz.
type Health struct {
	Status string `json:"status"` // "ok"
}

func builtinRoutes(opts Options) []Route {
	return []Route{{
		Method: http.MethodGet, Path: "/healthz", Summary: "Liveness and dependency check",
		Response: Health{Status: "ok"},
		Handler: func(c echo.Context) error {
			if opts.Health != nil {
				if err := opts.Health(c.Request().Context()); err != nil {
					opts.Log.WithError(err).Warn("health check failed")
					u, _ := unavailable.Classify(err)
					if u == nil {
						u = &unavailable.Error{}
					}
					return DependencyUnavailable(u.Dependency)
				}
			}
			return c.JSON(http.StatusOK, Health{Status: "ok"})
		},
	}}
}

// echoPath turns /v1/cards/{card_no} into echo's /v1/cards/:card_no.
func echoPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			parts[i] = ":" + s[1:len(s)-1]
		}
	}
	return strings.Join(parts, "/")
}

func errorHandler(opts Options) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := problemFor(opts, err)
		if p.Status >= 500 {
			c.Set(ctxError, err)
		}
		c.Set(ctxProblem, p.Code)
		p.RequestID = RequestID(c)
		h := c.Response().Header()
		if p.Status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", `Bearer realm="cardledger"`)
		}
		if p.Status == http.StatusTooManyRequests && p.RetryAfter > 0 && h.Get("Retry-After") == "" {
			h.Set("Retry-After", strconv.Itoa(p.RetryAfter))
		}
		if p.Status == http.StatusServiceUnavailable && h.Get("Retry-After") == "" {
			secs := p.RetryAfter
			if secs <= 0 {
				secs = DefaultRetryAfter
			}
			h.Set("Retry-After", strconv.Itoa(secs))
		}
		h.Set(echo.HeaderContentType, ProblemContentType)
		c.Response().WriteHeader(p.Status)
		if c.Request().Method != http.MethodHead {
			_ = json.NewEncoder(c.Response()).Encode(p)
		}
	}
}

func problemFor(opts Options, err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		cp := *p
		return &cp
	}
	var se *ScopeError
	if errors.As(err, &se) {
		return se.Problem()
	}
	if opts.MapError != nil {
		if p := opts.MapError(err); p != nil {
			return p
		}
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return NotFound(CodeNotFound, "no such resource")
		case http.StatusMethodNotAllowed:
			return NewProblem(he.Code, CodeMethodNotAllowed, "method not allowed on this resource")
		case http.StatusRequestEntityTooLarge:
			return NewProblem(he.Code, CodeBodyTooLarge, "the body is too large")
		case http.StatusUnauthorized:
			return NewProblem(he.Code, CodeUnauthenticated, "a valid API key is required")
		case http.StatusUnsupportedMediaType:
			return NewProblem(he.Code, CodeUnsupportedMedia, fmt.Sprint(he.Message))
		}
		// Any other client error keeps its status under a code of the
		// table (docs/errors.md), not one made up from the status text.
		if he.Code < 500 {
			return NewProblem(he.Code, CodeInvalid, fmt.Sprint(he.Message))
		}
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; 499 in the log, nobody reads the body.
		return NewProblem(499, "client_closed_request", "")
	}
	// An outage of a database is not a bug: 503 with Retry-After, for
	// every route, in this one place.
	if u, ok := unavailable.Classify(err); ok {
		return DependencyUnavailable(u.Dependency)
	}
	return NewProblem(http.StatusInternalServerError, CodeInternal, "internal error; quote the request id when reporting it")
}
