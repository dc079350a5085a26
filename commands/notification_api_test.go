package commands_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// The counter records the holder's e-mail (实名邮箱) and opt-out; the
// holder's channel may set the opt-out too, once bound and under consent
// contact; the state shows both.
func TestNotificationPreferencesAndEmailOverHTTP(t *testing.T) {
	e := newEnv(t)
	holder, _ := e.activeCard(7)
	prefs := "/v1/cardholders/" + holder + "/notification-preferences"

	r := e.do(http.MethodPost, "/v1/cardholders/"+holder+"/corrections", keyCounter,
		map[string]string{"field": "email", "value": "ceshi7@mail.example.cn", "reason": "实名邮箱 issued"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"PersonalDataCorrected"}, r.command(t).Events)
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/corrections", keyCounter,
		map[string]string{"field": "email", "value": "not an address", "reason": "r"}), http.StatusBadRequest, domain.CodeInvalidCommand)

	r = e.do(http.MethodPost, prefs, keyCounter, map[string]bool{"sms_opt_out": true})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"NotificationPreferencesSet"}, r.command(t).Events)
	refused(t, e.do(http.MethodPost, prefs, keyCounter, map[string]bool{"sms_opt_out": true}),
		http.StatusConflict, domain.CodeNotificationPreferencesUnchanged)

	both := map[string]bool{"sms_opt_out": true, "email_opt_out": true}
	refused(t, e.do(http.MethodPost, prefs, keyRsapp, both), http.StatusForbidden, commands.CodeHolderNotBound)
	e.bindAs(keyRsapp, 7, domain.ConsentCardStatus)
	refused(t, e.do(http.MethodPost, prefs, keyRsapp, both), http.StatusForbidden, commands.CodeConsentRequired)
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/consents", keyRsapp,
		map[string]any{"channel": "rsapp", "scopes": []domain.ConsentScope{domain.ConsentCardStatus, domain.ConsentContact}})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do(http.MethodPost, prefs, keyRsapp, both)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	h, _ := e.history("/v1/cardholders/" + holder + "/history")
	assert.JSONEq(t, `{"sms_opt_out":true,"email_opt_out":true,"channel":"rsapp"}`, string(h.Events[len(h.Events)-1].Data))

	var state commands.StateView
	e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state", keyCounter, nil).json(t, &state)
	assert.Equal(t, "ceshi7@mail.example.cn", state.Profile.Email)
	assert.Equal(t, commands.NotificationOptOutView{SMS: true, Email: true}, state.NotificationOptOut)
	refused(t, e.do(http.MethodPost, prefs, keyBank, both), http.StatusForbidden, "forbidden")
}
