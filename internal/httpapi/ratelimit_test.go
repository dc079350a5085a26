package httpapi_test

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
)

func TestRateLimitPerClient(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	log := logrus.New()
	log.SetOutput(io.Discard)
	e := httpapi.NewServer(httpapi.Options{
		Auth: httpapi.StaticAuthenticator{
			"a": {Client: "a", Role: httpapi.RoleCounter},
			"b": {Client: "b", Role: httpapi.RoleCounter},
			"f": {Client: "fast", Role: httpapi.RoleCounter, RateLimit: 4},
		},
		RateLimit: httpapi.RateLimit{PerSecond: 1, Burst: 2},
		Log:       log, Now: func() time.Time { return now },
	}, []httpapi.Route{{
		Method: http.MethodGet, Path: "/v1/x", Roles: []httpapi.Role{httpapi.RoleCounter},
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
		Handler:   func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
	}})

	assert.Equal(t, http.StatusNoContent, do(e, http.MethodGet, "/v1/x", "a", "").Code)
	assert.Equal(t, http.StatusNoContent, do(e, http.MethodGet, "/v1/x", "a", "").Code, "burst of 2")
	rec := do(e, http.MethodGet, "/v1/x", "a", "")
	require.Equal(t, http.StatusTooManyRequests, rec.Code)
	assert.Equal(t, httpapi.CodeRateLimited, problemOf(t, rec).Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	assert.Equal(t, http.StatusNoContent, do(e, http.MethodGet, "/v1/x", "b", "").Code, "buckets are per client")

	now = now.Add(time.Second)
	assert.Equal(t, http.StatusNoContent, do(e, http.MethodGet, "/v1/x", "a", "").Code, "one token a second")
	assert.Equal(t, http.StatusTooManyRequests, do(e, http.MethodGet, "/v1/x", "a", "").Code)

	for i := range 8 {
		assert.Equal(t, http.StatusNoContent, do(e, http.MethodGet, "/v1/x", "f", "").Code, "override: burst scales to 8 (request %d)", i)
	}
	assert.Equal(t, http.StatusTooManyRequests, do(e, http.MethodGet, "/v1/x", "f", "").Code)
}

// The clients of one e-card channel share one bucket at the channel rate;
// another channel, and clients of other roles, have their own.
func TestRateLimitPerChannel(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	log := logrus.New()
	log.SetOutput(io.Discard)
	e := httpapi.NewServer(httpapi.Options{
		Auth: httpapi.StaticAuthenticator{
			"r1": {Client: "rsapp-1", Role: httpapi.RoleChannel, Channel: "rsapp"},
			"r2": {Client: "rsapp-2", Role: httpapi.RoleChannel, Channel: "rsapp"},
			"i1": {Client: "icbc-app-1", Role: httpapi.RoleChannel, Channel: "icbc-app"},
			"c":  {Client: "counter", Role: httpapi.RoleCounter},
		},
		RateLimit: httpapi.RateLimit{PerSecond: 1, Burst: 1, ChannelPerSecond: 3},
		Log:       log, Now: func() time.Time { return now },
	}, []httpapi.Route{{
		Method: http.MethodGet, Path: "/v1/x", Roles: []httpapi.Role{httpapi.RoleChannel, httpapi.RoleCounter},
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
		Handler:   func(c echo.Context) error { return c.NoContent(http.StatusNoContent) },
	}})

	// Burst 1 at 1/s scales to 3 at the channel's 3/s, shared by r1 and r2.
	for i, key := range []string{"r1", "r2", "r1"} {
		assert.Equal(t, http.StatusNoContent, do(e, http.MethodGet, "/v1/x", key, "").Code, "request %d", i)
	}
	assert.Equal(t, http.StatusTooManyRequests, do(e, http.MethodGet, "/v1/x", "r2", "").Code, "the channel's bucket is empty")
	assert.Equal(t, http.StatusNoContent, do(e, http.MethodGet, "/v1/x", "i1", "").Code, "another channel")
	assert.Equal(t, http.StatusNoContent, do(e, http.MethodGet, "/v1/x", "c", "").Code, "a counter")
	assert.Equal(t, http.StatusTooManyRequests, do(e, http.MethodGet, "/v1/x", "c", "").Code, "the counter's own rate")
	now = now.Add(time.Second)
	assert.Equal(t, http.StatusNoContent, do(e, http.MethodGet, "/v1/x", "r2", "").Code, "refilled at the channel rate")
}
