package httpapi

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
)

// Request headers the plumbing reads and echoes.
const (
	HeaderRequestID     = "X-Request-ID"
	HeaderCorrelationID = "X-Correlation-ID"
)

const (
	ctxPrincipal     = "httpapi.principal"
	ctxRequestID     = "httpapi.request_id"
	ctxCorrelationID = "httpapi.correlation_id"
	ctxError         = "httpapi.error"
)

// RequestID is the id of this request (the client's X-Request-ID if it sent
// a usable one, else a fresh UUID).
func RequestID(c echo.Context) string {
	s, _ := c.Get(ctxRequestID).(string)
	return s
}

// CorrelationID groups the requests of one business operation across
// systems: the client's X-Correlation-ID, else the request id.
func CorrelationID(c echo.Context) string {
	s, _ := c.Get(ctxCorrelationID).(string)
	return s
}

// PrincipalFrom returns the authenticated client; ok is false on public routes.
func PrincipalFrom(c echo.Context) (Principal, bool) {
	p, ok := c.Get(ctxPrincipal).(Principal)
	return p, ok
}

// usableID accepts ids that are safe to log and echo.
func usableID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if r < 0x21 || r > 0x7e {
			return false
		}
	}
	return true
}

func requestIDs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		rid := req.Header.Get(HeaderRequestID)
		if !usableID(rid) {
			rid = uuid.NewString()
		}
		cid := req.Header.Get(HeaderCorrelationID)
		if !usableID(cid) {
			cid = rid
		}
		c.Set(ctxRequestID, rid)
		c.Set(ctxCorrelationID, cid)
		h := c.Response().Header()
		h.Set(HeaderRequestID, rid)
		h.Set(HeaderCorrelationID, cid)
		return next(c)
	}
}

// accessLog logs one line per request and turns panics into 500s. It hands
// errors to the error handler itself so that the logged status is the one
// sent.
func accessLog(log *logrus.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := callRecovering(next, c); err != nil {
				c.Error(err)
			}
			res := c.Response()
			fields := logrus.Fields{
				"request_id":     RequestID(c),
				"correlation_id": CorrelationID(c),
				"method":         c.Request().Method,
				"route":          c.Path(), // the template, not the URL: paths hold card numbers
				"status":         res.Status,
				"latency_ms":     float64(time.Since(start).Microseconds()) / 1000,
				"bytes_out":      res.Size,
			}
			if p, ok := PrincipalFrom(c); ok {
				fields["client"] = p.Client
			}
			entry := log.WithFields(fields)
			if err, ok := c.Get(ctxError).(error); ok {
				entry.WithError(err).Error("http request failed")
			} else {
				entry.Info("http request")
			}
			return nil
		}
	}
}

func callRecovering(next echo.HandlerFunc, c echo.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return next(c)
}

func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if req.ContentLength > limit {
				return NewProblem(http.StatusRequestEntityTooLarge, CodeBodyTooLarge,
					fmt.Sprintf("the body is larger than %d bytes", limit))
			}
			if req.Body != nil {
				req.Body = http.MaxBytesReader(c.Response(), req.Body, limit)
			}
			return next(c)
		}
	}
}

func authenticate(auth Authenticator, roles []Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			scheme, key, ok := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			key = strings.TrimSpace(key)
			if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
				return NewProblem(http.StatusUnauthorized, CodeUnauthenticated, "send Authorization: Bearer <API key>")
			}
			p, err := auth.Authenticate(c.Request().Context(), key)
			if errors.Is(err, ErrUnauthenticated) {
				return NewProblem(http.StatusUnauthorized, CodeUnauthenticated, "the API key is not valid")
			}
			if err != nil {
				return fmt.Errorf("authenticate: %w: %w", err, NewProblem(http.StatusServiceUnavailable, CodeUnavailable, "authentication is unavailable"))
			}
			c.Set(ctxPrincipal, p)
			c.SetRequest(c.Request().WithContext(ContextWithPrincipal(c.Request().Context(), p)))
			if p.Role != RoleAdmin && !slices.Contains(roles, p.Role) {
				return NewProblem(http.StatusForbidden, CodeForbidden,
					fmt.Sprintf("role %q may not call this endpoint", p.Role))
			}
			return next(c)
		}
	}
}
