package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
)

type greeting struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

type greeted struct {
	Who    string `json:"who"`
	Name   string `json:"name"`
	Client string `json:"client"`
}

func testServer(t *testing.T, logOut io.Writer) *echo.Echo {
	t.Helper()
	log := logrus.New()
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetOutput(io.Discard)
	if logOut != nil {
		log.SetOutput(logOut)
	}
	auth := httpapi.StaticAuthenticator{
		"admin-key":   {Client: "ops", Role: httpapi.RoleAdmin},
		"counter-key": {Client: "window-7", Role: httpapi.RoleCounter},
		"bank-key":    {Client: "icbc", Role: httpapi.RoleBank, Bank: "102"},
	}
	routes := []httpapi.Route{
		{
			Method: http.MethodPost, Path: "/v1/greetings/{who}", Roles: []httpapi.Role{httpapi.RoleCounter},
			Summary: "Greet", Request: greeting{Name: "Li", Count: 1}, Status: http.StatusCreated,
			Response:  greeted{Who: "wang", Name: "Li", Client: "window-7"},
			Responses: httpapi.Problems(http.StatusNotFound),
			Handler: func(c echo.Context) error {
				var g greeting
				if err := httpapi.DecodeJSON(c, &g); err != nil {
					return err
				}
				p, _ := httpapi.PrincipalFrom(c)
				return c.JSON(http.StatusCreated, greeted{Who: c.Param("who"), Name: g.Name, Client: p.Client})
			},
		},
		{
			Method: http.MethodPost, Path: "/v1/bulk", Roles: []httpapi.Role{httpapi.RoleCounter}, MaxBody: 16,
			Request: map[string]any{"n": 1}, Responses: []httpapi.Response{{Status: http.StatusNoContent}},
			Handler: func(c echo.Context) error {
				var v map[string]any
				if err := httpapi.DecodeJSON(c, &v); err != nil {
					return err
				}
				return c.NoContent(http.StatusNoContent)
			},
		},
		{
			Method: http.MethodGet, Path: "/v1/boom", Response: greeting{Name: "Li", Count: 1},
			Handler: func(c echo.Context) error { panic("kaboom") },
		},
	}
	return httpapi.NewServer(httpapi.Options{Auth: auth, Log: log}, routes)
}

func do(e *echo.Echo, method, path, key, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func problemOf(t *testing.T, rec *httptest.ResponseRecorder) httpapi.Problem {
	t.Helper()
	assert.Equal(t, httpapi.ProblemContentType, rec.Header().Get("Content-Type"))
	var p httpapi.Problem
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), rec.Body.String())
	return p
}

func TestAuthenticationAndRoles(t *testing.T) {
	e := testServer(t, nil)
	body := `{"name":"Wang","count":2}`
	cases := []struct {
		name, key  string
		status     int
		code       string
		authHeader bool
	}{
		{"no key", "", http.StatusUnauthorized, httpapi.CodeUnauthenticated, true},
		{"unknown key", "nope", http.StatusUnauthorized, httpapi.CodeUnauthenticated, true},
		{"role not allowed", "bank-key", http.StatusForbidden, httpapi.CodeForbidden, false},
		{"role allowed", "counter-key", http.StatusCreated, "", false},
		{"admin always allowed", "admin-key", http.StatusCreated, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(e, http.MethodPost, "/v1/greetings/zhang", tc.key, body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.code != "" {
				p := problemOf(t, rec)
				assert.Equal(t, tc.code, p.Code)
				assert.Equal(t, tc.status, p.Status)
			}
			assert.Equal(t, tc.authHeader, rec.Header().Get("WWW-Authenticate") != "")
		})
	}
}

func TestDecodeJSONRejectsBadBodies(t *testing.T) {
	e := testServer(t, nil)
	cases := []struct {
		name, body string
		status     int
		code       string
		field      string
	}{
		{"malformed", `{"name":`, http.StatusBadRequest, httpapi.CodeMalformedJSON, ""},
		{"syntax error", `{"name" "x"}`, http.StatusBadRequest, httpapi.CodeMalformedJSON, ""},
		{"unknown field", `{"name":"x","age":3}`, http.StatusBadRequest, httpapi.CodeUnknownField, "age"},
		{"wrong type", `{"name":"x","count":"three"}`, http.StatusBadRequest, httpapi.CodeWrongType, "count"},
		{"trailing data", `{"name":"x"} {"name":"y"}`, http.StatusBadRequest, httpapi.CodeTrailingData, ""},
		{"trailing garbage", `{"name":"x"}]`, http.StatusBadRequest, httpapi.CodeTrailingData, ""},
		{"empty", ``, http.StatusBadRequest, httpapi.CodeEmptyBody, ""},
		{"oversized", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, http.StatusRequestEntityTooLarge, httpapi.CodeBodyTooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(e, http.MethodPost, "/v1/greetings/zhang", "counter-key", tc.body)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			p := problemOf(t, rec)
			assert.Equal(t, tc.code, p.Code)
			if tc.field != "" {
				require.Len(t, p.Errors, 1)
				assert.Equal(t, tc.field, p.Errors[0].Field)
			}
		})
	}
	t.Run("not JSON", func(t *testing.T) {
		rec := do(e, http.MethodPost, "/v1/greetings/zhang", "counter-key", "", "Content-Type", "text/plain")
		require.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
		assert.Equal(t, httpapi.CodeUnsupportedMedia, problemOf(t, rec).Code)
	})
}

func TestPerRouteBodyLimit(t *testing.T) {
	e := testServer(t, nil)
	rec := do(e, http.MethodPost, "/v1/bulk", "counter-key", `{"a":"0123456789"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code)
	assert.Equal(t, httpapi.CodeBodyTooLarge, problemOf(t, rec).Code)
	rec = do(e, http.MethodPost, "/v1/bulk", "counter-key", `{"a":1}`)
	assert.Equal(t, http.StatusNoContent, rec.Code)
}

func TestRequestAndCorrelationIDs(t *testing.T) {
	var logs strings.Builder
	e := testServer(t, &logs)
	rec := do(e, http.MethodPost, "/v1/greetings/zhang", "counter-key", `{"name":"secret-name"}`,
		"X-Request-ID", "req-1", "X-Correlation-ID", "corr-1")
	require.Equal(t, http.StatusCreated, rec.Code)
	assert.Equal(t, "req-1", rec.Header().Get("X-Request-ID"))
	assert.Equal(t, "corr-1", rec.Header().Get("X-Correlation-ID"))

	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line))
	assert.Equal(t, "req-1", line["request_id"])
	assert.Equal(t, "corr-1", line["correlation_id"])
	assert.Equal(t, "window-7", line["client"])
	assert.Equal(t, float64(201), line["status"])
	assert.Equal(t, "/v1/greetings/:who", line["route"])
	assert.Contains(t, line, "latency_ms")
	assert.NotContains(t, logs.String(), "secret-name", "bodies are never logged")

	rec = do(e, http.MethodGet, "/healthz", "", "")
	require.Equal(t, http.StatusOK, rec.Code)
	rid := rec.Header().Get("X-Request-ID")
	assert.Len(t, rid, 36, "a missing request id is generated")
	assert.Equal(t, rid, rec.Header().Get("X-Correlation-ID"), "correlation defaults to the request id")
}

func TestErrorsAreProblems(t *testing.T) {
	e := testServer(t, nil)
	rec := do(e, http.MethodGet, "/v1/nowhere", "", "")
	require.Equal(t, http.StatusNotFound, rec.Code)
	assert.Equal(t, httpapi.CodeNotFound, problemOf(t, rec).Code)

	rec = do(e, http.MethodGet, "/v1/boom", "", "")
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	p := problemOf(t, rec)
	assert.Equal(t, httpapi.CodeInternal, p.Code)
	assert.NotContains(t, p.Detail, "kaboom", "internal details stay in the log")
	assert.Equal(t, rec.Header().Get("X-Request-ID"), p.RequestID)
}

func TestNewServerRejectsBadTables(t *testing.T) {
	h := func(c echo.Context) error { return nil }
	ok := httpapi.Health{Status: "ok"}
	assert.PanicsWithValue(t, "httpapi: route GET /a needs roles but Options.Auth is nil", func() {
		httpapi.NewServer(httpapi.Options{}, []httpapi.Route{{Method: "GET", Path: "/a", Roles: []httpapi.Role{httpapi.RoleAdmin}, Handler: h, Response: ok}})
	}, "roles without authenticator")
	assert.PanicsWithValue(t, "httpapi: duplicate route GET /a", func() {
		httpapi.NewServer(httpapi.Options{}, []httpapi.Route{{Method: "GET", Path: "/a", Handler: h, Response: ok}, {Method: "GET", Path: "/a", Handler: h, Response: ok}})
	}, "duplicate")
	assert.PanicsWithValue(t, `httpapi: route GET /a: unknown role "root"`, func() {
		httpapi.NewServer(httpapi.Options{Auth: httpapi.StaticAuthenticator{}}, []httpapi.Route{{Method: "GET", Path: "/a", Roles: []httpapi.Role{"root"}, Handler: h, Response: ok}})
	}, "unknown role")
}
