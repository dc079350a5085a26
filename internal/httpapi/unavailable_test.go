package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/unavailable"
)

// The mapper answers outages 503 dependency_unavailable with Retry-After,
// whatever handler they come from; a bug stays a 500.
func TestOutagesAreServiceUnavailable(t *testing.T) {
	fail := func(err error) echo.HandlerFunc { return func(echo.Context) error { return err } }
	e := httpapi.NewServer(httpapi.Options{}, []httpapi.Route{
		{Method: http.MethodGet, Path: "/event-store", Responses: []httpapi.Response{{Status: http.StatusNoContent}}, Handler: fail(fmt.Errorf("append s: %w", eventstore.ErrUnavailable))},
		{Method: http.MethodGet, Path: "/clickhouse", Responses: []httpapi.Response{{Status: http.StatusNoContent}}, Handler: fail(unavailable.Wrap(unavailable.ClickHouse, errors.New("dial: refused")))},
		{Method: http.MethodGet, Path: "/acquire", Responses: []httpapi.Response{{Status: http.StatusNoContent}}, Handler: fail(fmt.Errorf("read: %w", context.DeadlineExceeded))},
		{Method: http.MethodGet, Path: "/own-503", Responses: []httpapi.Response{{Status: http.StatusNoContent}}, Handler: fail(httpapi.NewProblem(http.StatusServiceUnavailable, "busy", ""))},
		{Method: http.MethodGet, Path: "/bug", Responses: []httpapi.Response{{Status: http.StatusNoContent}}, Handler: fail(errors.New("nil map"))},
	})
	for path, dependency := range map[string]string{"/event-store": "event_store", "/clickhouse": "clickhouse", "/acquire": ""} {
		rec := do(e, http.MethodGet, path, "", "")
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, path)
		assert.Equal(t, "1", rec.Header().Get("Retry-After"), path)
		p := problemOf(t, rec)
		assert.Equal(t, httpapi.CodeDependencyUnavailable, p.Code, path)
		assert.Equal(t, dependency, p.Dependency, path)
	}
	rec := do(e, http.MethodGet, "/own-503", "", "")
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.Equal(t, "1", rec.Header().Get("Retry-After"), "every 503 says when to retry")
	rec = do(e, http.MethodGet, "/bug", "", "")
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Empty(t, rec.Header().Get("Retry-After"))
}
