package batch

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/httpapi/openapitest"
)

// The document's required request fields are the ones the batch and PSAM
// commands require: without a required field a 400 names it, without an
// optional one nothing is refused for it. Routes of a batch or PSAM card
// that does not exist answer 404 before looking at fields: those cases say
// nothing and are left out.
func TestRequiredFieldsOfTheDocumentAreTheBatchCommandsOwn(t *testing.T) {
	e := newEnv(t)
	srv := httpapi.NewServer(httpapi.Options{
		Auth:     httpapi.StaticAuthenticator{"counter-key": {Client: "counter-1", Role: httpapi.RoleCounter}},
		MapError: commands.ProblemFor,
		Log:      quietLog(),
	}, NewAPI(e.service(t)).Routes())
	send := func(method, path string, body any) (int, []byte) {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		req := httptest.NewRequest(method, path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer counter-key")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	status, doc := send(http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, status)
	spec, err := openapitest.Load(doc)
	require.NoError(t, err)
	checked := 0
	for _, c := range openapitest.FieldCases(spec) {
		status, body := send(http.MethodPost, c.Path, c.Body)
		if status == http.StatusNotFound {
			continue
		}
		refused := status == http.StatusBadRequest && openapitest.NamesField(body, c.Field)
		assert.Equal(t, c.Required, refused, "POST %s without %s (required: %v): %d %s", c.Path, c.Field, c.Required, status, body)
		checked++
	}
	assert.GreaterOrEqual(t, checked, 5, "fields checked")
}
