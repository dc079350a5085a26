package commands_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

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
	cases := openapitest.FieldCases(spec)
	require.Greater(t, len(cases), 20)
	type target struct{ holder, card string }
	targets := map[string]target{}
	for _, c := range cases {
		tg, ok := targets[c.Path]
		if !ok {
			tg.holder, tg.card = e.activeCard(500 + len(targets)) // clear of the examples' ID number (idNumber(123))
			targets[c.Path] = tg
		}
		url := strings.NewReplacer("{id}", tg.holder, "{card_no}", tg.card, "{code}", "rsapp", "{channel}", "rsapp").Replace(c.Path)
		key := keyAdmin
		if roles, _ := c.Op.Extensions["x-roles"].([]any); slices.Contains(roles, any("bank")) {
			key = keyBank
		}
		r := e.do(http.MethodPost, url, key, c.Body)
		refused := r.Status == http.StatusBadRequest && openapitest.NamesField(r.Body, c.Field)
		assert.Equal(t, c.Required, refused, "POST %s without %s (required: %v): %d %s", c.Path, c.Field, c.Required, r.Status, r.Body)
	}
}
