package commands_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Text that is not UTF-8 is refused with 400 invalid_utf8 and appends
// nothing: it used to be stored in the hash-chained event with U+FFFD in
// its place.
func TestTextThatIsNotUTF8IsRefusedAndAppendsNothing(t *testing.T) {
	e := newEnv(t)
	holder, card := e.activeCard(1)
	before, events := e.revision(holder), e.eventCount()

	for _, tc := range []struct {
		name, path, body, field string
		headers                 []string
	}{
		{"lone surrogate escape", "/v1/cards/" + card + "/temporary-loss", `{"reason":"\udc00"}`, "reason", nil},
		{"loss reason", "/v1/cards/" + card + "/loss", "{\"reason\":\"lost \xff\"}", "reason", nil},
		{"loss reason, idempotent", "/v1/cards/" + card + "/loss", "{\"reason\":\"lost \xff\"}", "reason",
			[]string{commands.HeaderIdempotencyKey, "utf8-1"}},
		{"registration name", "/v1/cardholders", "{\"id_number\":\"" + idNumber(2) + "\",\"name\":\"\xe5\xbc\xa0\xff\"," +
			"\"sex\":\"female\",\"nationality\":\"CHN\",\"region_code\":\"440304\"}", "name", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPost, tc.path, keyAdmin, tc.body, tc.headers...)
			require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
			p := r.problem(t)
			assert.Equal(t, httpapi.CodeInvalidUTF8, p.Code)
			require.Len(t, p.Errors, 1)
			assert.Equal(t, tc.field, p.Errors[0].Field)
		})
	}
	// X-Operator goes into every event's metadata: it is checked too.
	r := e.do(http.MethodPost, "/v1/cards/"+card+"/loss", keyAdmin, `{"reason":"lost"}`, commands.HeaderOperator, "窗口\xff")
	require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
	assert.Equal(t, commands.CodeInvalidOperator, r.problem(t).Code)

	assert.Equal(t, before, e.revision(holder), "the card's stream is unchanged")
	assert.Equal(t, events, e.eventCount(), "nothing was appended anywhere")
}
