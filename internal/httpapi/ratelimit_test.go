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
