package platform_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi/openapitest"
)

// The document's required request fields are the platform's own: without a
// required field a 400 names it, without an optional one nothing is
// refused for it.
func TestRequiredFieldsOfTheDocumentAreThePlatformsOwn(t *testing.T) {
	h := newHarness(t, 1000)
	_, integrator := h.registerApproved()
	res, err := http.Get(h.srv.URL + "/openapi.json")
	require.NoError(t, err)
	doc, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	spec, err := openapitest.Load(doc)
	require.NoError(t, err)
	cases := openapitest.FieldCases(spec)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		if !strings.HasPrefix(c.Path, "/v1/platform/") {
			continue
		}
		cred := bearer(integrator)
		if strings.HasPrefix(c.Path, "/v1/platform/accounts") || strings.HasPrefix(c.Path, "/v1/platform/channels") {
			cred = bearer(h.admin)
		}
		path := strings.ReplaceAll(c.Path, "{id}", "7d0c1f5e-0b7e-4c43-9b8f-1a2b3c4d5e6f")
		path = strings.ReplaceAll(path, "{code}", "nosuch")
		status, body, _ := h.call(http.MethodPost, path, cred, c.Body)
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		refused := status == http.StatusBadRequest && openapitest.NamesField(raw, c.Field)
		assert.Equal(t, c.Required, refused, "POST %s without %s (required: %v): %d %s", c.Path, c.Field, c.Required, status, raw)
	}
}
