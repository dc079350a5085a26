package httpapi

import (
	"fmt"
	"net/http"
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
	ctxProblem       = "httpapi.problem"
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
			reqErr, failed := c.Get(ctxError).(error)
			level := logrus.InfoLevel
			switch {
			case failed:
				level = logrus.ErrorLevel
			case denied(res.Status):
				// Denials are security events: operators alert on them.
				level = logrus.WarnLevel
			}
			if !log.IsLevelEnabled(level) {
				return nil // the fields are a map and a dozen boxed values per request
			}
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
				fields["auth"] = p.Method
				if p.Region != "" {
					fields["scope_region"] = p.Region
				}
				if p.Bank != "" {
					fields["scope_bank"] = p.Bank
				}
			}
			code, _ := c.Get(ctxProblem).(string)
			if code != "" {
				fields["problem"] = code
			}
			entry := log.WithFields(fields)
			switch level {
			case logrus.ErrorLevel:
				entry.WithError(reqErr).Error("http request failed")
			case logrus.WarnLevel:
				entry.Warn("http request denied")
			default:
				entry.Info("http request")
			}
			return nil
		}
	}
}

func denied(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusTooManyRequests
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
