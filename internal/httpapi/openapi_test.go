package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/httpapi/openapitest"
)

func openAPIOf(t *testing.T, e *echo.Echo) map[string]any {
	t.Helper()
	rec := do(e, http.MethodGet, "/openapi.json", "", "")
	require.Equal(t, http.StatusOK, rec.Code)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	_, err := openapitest.Load(rec.Body.Bytes())
	require.NoError(t, err, "kin-openapi accepts the document")
	return doc
}

func dig(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%v at %s is not an object", v, p)
		v = m[p]
	}
	return v
}

func TestOpenAPIDocumentListsTheTable(t *testing.T) {
	doc := openAPIOf(t, testServer(t, nil))
	assert.Equal(t, "3.1.0", doc["openapi"])
	assert.Equal(t, []any{map[string]any{"url": "http://127.0.0.1:8080", "description": "cardledger serve on its default address"}}, doc["servers"])
	op := dig(t, doc, "paths", "/v1/greetings/{who}", "post")
	assert.Equal(t, "Greet", dig(t, op, "summary"))
	assert.ElementsMatch(t, []any{"admin", "counter"}, dig(t, op, "x-roles"))
	assert.Equal(t, []any{map[string]any{"bearer": []any{}}, map[string]any{"signed": []any{}}, map[string]any{"clientCertificate": []any{}}},
		dig(t, op, "security"))
	body := dig(t, op, "requestBody", "content", "application/json")
	assert.Equal(t, map[string]any{"$ref": "#/components/schemas/Greeting"}, dig(t, body, "schema"))
	assert.Equal(t, map[string]any{"name": "Li", "count": float64(1)}, dig(t, body, "example"))
	greeting := dig(t, doc, "components", "schemas", "Greeting")
	assert.Equal(t, map[string]any{"name": map[string]any{"type": "string"}, "count": map[string]any{"type": "integer", "format": "int64"}},
		dig(t, greeting, "properties"))
	assert.Equal(t, false, dig(t, greeting, "additionalProperties"))
	assert.ElementsMatch(t, []any{"count", "name"}, dig(t, greeting, "required"))
	responses := dig(t, op, "responses").(map[string]any)
	for _, status := range []string{"201", "400", "401", "403", "413", "415", "429", "500", "503"} {
		assert.Contains(t, responses, status)
	}
	assert.Equal(t, map[string]any{"$ref": "#/components/schemas/Problem"}, dig(t, responses["404"], "content", "application/problem+json", "schema"),
		"GET /v1/greetings declares 404")
	assert.Equal(t, []any{}, dig(t, doc, "paths", "/healthz", "get", "security"), "a keyless route says so")
	assert.Contains(t, doc["paths"], "/openapi.json")
}

type schemaProbe struct {
	Plain    string            `json:"plain"`
	Optional string            `json:"optional,omitempty"`
	Maybe    *time.Time        `json:"maybe"`
	Absent   *int              `json:"absent,omitempty"`
	Child    *greeting         `json:"child"`
	Tags     map[string]int    `json:"tags"`
	Raw      json.RawMessage   `json:"raw"`
	Skipped  string            `json:"-"`
	Nested   []httpapi.Problem `json:"nested,omitempty"`
	embedded
}

type embedded struct {
	Inlined bool `json:"inlined"`
}

// The generator follows encoding/json: required unless omitempty, a
// pointer without omitempty may be null (3.1 type arrays), embedded
// fields inline, json:"-" absent.
func TestSchemasFollowTheGoTypes(t *testing.T) {
	e := httpapi.NewServer(httpapi.Options{}, []httpapi.Route{{Method: http.MethodGet, Path: "/probe", Summary: "probe",
		Response: schemaProbe{Plain: "p", Child: &greeting{Name: "Li", Count: 1}, Tags: map[string]int{"a": 1}, Raw: json.RawMessage(`[1]`)},
		Handler:  func(c echo.Context) error { return c.NoContent(http.StatusOK) }}})
	doc := openAPIOf(t, e)
	probe := dig(t, doc, "components", "schemas", "SchemaProbe")
	props := dig(t, probe, "properties").(map[string]any)
	assert.Equal(t, map[string]any{"type": []any{"string", "null"}, "format": "date-time"}, props["maybe"])
	assert.Equal(t, map[string]any{"type": "integer", "format": "int64"}, props["absent"], "omitempty: absent, never null")
	assert.Equal(t, map[string]any{"anyOf": []any{map[string]any{"$ref": "#/components/schemas/Greeting"}, map[string]any{"type": "null"}}}, props["child"])
	assert.Equal(t, map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "integer", "format": "int64"}}, props["tags"])
	assert.Equal(t, map[string]any{}, props["raw"])
	assert.Equal(t, map[string]any{"type": "boolean"}, props["inlined"])
	assert.NotContains(t, props, "Skipped")
	assert.NotContains(t, props, "-")
	assert.ElementsMatch(t, []any{"plain", "maybe", "child", "tags", "raw", "inlined"}, dig(t, probe, "required"))
}

func TestARouteWithoutASuccessAnswerIsRefusedByName(t *testing.T) {
	assert.PanicsWithValue(t, "httpapi: route GET /v1/undeclared declares no success response: set Route.Response "+
		"(the value its handler encodes) or list its answers in Route.Responses", func() {
		httpapi.NewServer(httpapi.Options{}, []httpapi.Route{{Method: http.MethodGet, Path: "/v1/undeclared",
			Handler: func(c echo.Context) error { return nil }, Responses: httpapi.Problems(http.StatusNotFound)}})
	})
}

// The check every test server runs: an answer the document does not
// describe becomes a 500 naming the route and what differs.
func TestAnswersThatDriftFromTheDocumentFail(t *testing.T) {
	send := func(c echo.Context) error {
		switch c.QueryParam("drift") {
		case "field":
			return c.JSON(http.StatusOK, map[string]any{"name": "Li", "count": 1, "extra": true})
		case "type":
			return c.JSON(http.StatusOK, map[string]any{"name": "Li", "count": "one"})
		case "missing":
			return c.JSON(http.StatusOK, map[string]any{"name": "Li"})
		case "status":
			return httpapi.NotFound("no_such_thing", "undeclared 404")
		case "media":
			return c.String(http.StatusOK, "Li 1")
		}
		return c.JSON(http.StatusOK, greeting{Name: "Li", Count: 1})
	}
	e := httpapi.NewServer(httpapi.Options{}, []httpapi.Route{{Method: http.MethodGet, Path: "/v1/things/{id}", Summary: "thing",
		Response: greeting{Name: "Li", Count: 1}, Handler: send}})
	require.Equal(t, http.StatusOK, do(e, http.MethodGet, "/v1/things/1", "", "").Code)
	for drift, want := range map[string]string{
		"field":   "extra",
		"type":    "count",
		"missing": "count",
		"status":  "status is not supported",
		"media":   "text/plain",
	} {
		rec := do(e, http.MethodGet, "/v1/things/1?drift="+drift, "", "")
		require.Equal(t, http.StatusInternalServerError, rec.Code, drift)
		p := problemOf(t, rec)
		assert.Contains(t, p.Detail, "GET /v1/things/{id} answered", drift)
		assert.Contains(t, p.Detail, want, drift)
	}
}
