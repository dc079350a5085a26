package commands_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi/openapitest"
)

// The document's required request fields are the ones the commands
// require: the example body without a required field is refused with a
// 400 naming it, and without an optional one it is not refused for it.
// Field checks come before any state rule, so a holder with an active
// card does for every route; each route gets its own, as a command that
// succeeds changes it (a temporary loss, then an instant application
// replacing the card, would leave a pending application behind). A bank
// client sends the routes that bank clients may call (bank_code defaults
// to the caller's bank there).
func TestRequiredFieldsOfTheDocumentAreTheCommandsOwn(t *testing.T) {
	e := newEnv(t)
	r := e.do(http.MethodGet, "/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	spec, err := openapitest.Load(r.Body)
	require.NoError(t, err)
	checked := 0
	for path, item := range spec.Paths.Map() {
		op := item.Post
		if op == nil || op.RequestBody == nil {
			continue
		}
		media := op.RequestBody.Value.Content.Get("application/json")
		example, ok := media.Example.(map[string]any)
		if !ok {
			continue
		}
		schema := media.Schema.Value
		holder, card := e.activeCard(100 + checked)
		url := strings.NewReplacer("{id}", holder, "{card_no}", card, "{code}", "rsapp", "{channel}", "rsapp").Replace(path)
		key := keyAdmin
		if roles, _ := op.Extensions["x-roles"].([]any); slices.Contains(roles, any("bank")) {
			key = keyBank
		}
		for field := range schema.Properties {
			body := map[string]any{}
			for k, v := range example {
				if k != field {
					body[k] = v
				}
			}
			r := e.do(http.MethodPost, url, key, body)
			refusedFor := r.Status == http.StatusBadRequest && namesField(t, r.Body, field)
			if isRequired(schema, field) {
				assert.True(t, refusedFor, "POST %s without required %s: %d %s", path, field, r.Status, r.Body)
			} else {
				assert.False(t, refusedFor, "POST %s without optional %s: %d %s", path, field, r.Status, r.Body)
			}
			checked++
		}
	}
	assert.Greater(t, checked, 20, "fields checked")
}

func isRequired(s *openapi3.Schema, field string) bool {
	for _, f := range s.Required {
		if f == field {
			return true
		}
	}
	return false
}

func namesField(t *testing.T, body []byte, field string) bool {
	var p struct {
		Errors []struct {
			Field string `json:"field"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(body, &p))
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}
