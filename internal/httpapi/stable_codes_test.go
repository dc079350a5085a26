package httpapi_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// TestOtherClientErrorsHaveAStableCode: an echo error of a status the
// server has no code of its own for is invalid_request (keeping the
// status), never a code made up from the status text, so every code a
// client can see is in docs/errors.md.
func TestOtherClientErrorsHaveAStableCode(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	auth := httpapi.StaticAuthenticator{"counter-key": {Client: "window-7", Role: httpapi.RoleCounter}}
	fail := func(status int) echo.HandlerFunc {
		return func(c echo.Context) error { return echo.NewHTTPError(status, "no") }
	}
	e := httpapi.NewServer(httpapi.Options{Auth: auth, Log: log}, []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/bad", Roles: []httpapi.Role{httpapi.RoleCounter}, Handler: fail(http.StatusBadRequest), Responses: []httpapi.Response{{Status: http.StatusNoContent}}},
		{Method: http.MethodGet, Path: "/v1/teapot", Roles: []httpapi.Role{httpapi.RoleCounter}, Handler: fail(http.StatusTeapot),
			Responses: append([]httpapi.Response{{Status: http.StatusNoContent}}, httpapi.Problems(http.StatusTeapot)...)},
		{Method: http.MethodGet, Path: "/v1/media", Roles: []httpapi.Role{httpapi.RoleCounter}, Handler: fail(http.StatusUnsupportedMediaType),
			Responses: append([]httpapi.Response{{Status: http.StatusNoContent}}, httpapi.Problems(http.StatusUnsupportedMediaType)...)},
	})
	for path, want := range map[string]struct {
		status int
		code   string
	}{
		"/v1/bad":    {http.StatusBadRequest, httpapi.CodeInvalid},
		"/v1/teapot": {http.StatusTeapot, httpapi.CodeInvalid},
		"/v1/media":  {http.StatusUnsupportedMediaType, httpapi.CodeUnsupportedMedia},
	} {
		rec := do(e, http.MethodGet, path, "counter-key", "")
		require.Equal(t, want.status, rec.Code, path)
		assert.Equal(t, want.code, problemOf(t, rec).Code, path)
	}
}
