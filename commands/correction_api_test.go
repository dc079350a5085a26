package commands_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// The counter corrects a name with a reason; the operator is in the event's
// metadata, the history shows it, the state has the new name.
func TestCounterCorrectsPersonalDataOverHTTP(t *testing.T) {
	e := newEnv(t)
	holder, _ := e.activeCard(5)
	path := "/v1/cardholders/" + holder + "/corrections"

	r := e.do(http.MethodPost, path, keyCounter, map[string]string{"field": "name", "value": "测试伍", "reason": "typo at registration"},
		"X-Operator", "wang.li")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"PersonalDataCorrected"}, r.command(t).Events)

	h, _ := e.history("/v1/cardholders/" + holder + "/history")
	last := h.Events[len(h.Events)-1]
	require.Equal(t, "PersonalDataCorrected", last.Type)
	assert.JSONEq(t, `{"field":"name","name":"测试伍","reason":"typo at registration"}`, string(last.Data))
	var md domain.Metadata
	require.NoError(t, json.Unmarshal(last.Metadata, &md))
	assert.Equal(t, "wang.li", md.Actor.Operator)

	var state commands.StateView
	e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state", keyCounter, nil).json(t, &state)
	assert.Equal(t, "测试伍", state.Profile.Name)

	r = e.do(http.MethodPost, path, keyCounter, map[string]string{"field": "employer_code", "value": "E2002", "reason": "changed employer"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do(http.MethodPost, path, keyCounter, map[string]string{"field": "phone", "value": "13912345678", "reason": "typo"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"PhoneChanged"}, r.command(t).Events, "a phone changes one way")

	before := e.streamLen(holder)
	r = e.do(http.MethodPost, path, keyCounter, map[string]string{"field": "name", "value": "测试陆"})
	refused(t, r, http.StatusBadRequest, domain.CodeInvalidCommand)
	require.Len(t, r.problem(t).Errors, 1)
	assert.Equal(t, "reason", r.problem(t).Errors[0].Field)
	refused(t, e.do(http.MethodPost, path, keyCounter, map[string]string{"field": "id_number", "value": "x", "reason": "r"}),
		http.StatusBadRequest, domain.CodeInvalidCommand)
	refused(t, e.do(http.MethodPost, path, keyCounter, map[string]string{"field": "name", "value": "测试伍", "reason": "again"}),
		http.StatusConflict, domain.CodeCorrectionUnchanged)
	refused(t, e.do(http.MethodPost, path, keyBank, map[string]string{"field": "name", "value": "测试陆", "reason": "r"}),
		http.StatusForbidden, "forbidden")
	assert.Equal(t, before, e.streamLen(holder), "refusals append nothing")
}

// A channel corrects only the phone, of a holder bound to it, under
// consent contact.
func TestChannelCorrectsOnlyThePhoneOverHTTP(t *testing.T) {
	e := newEnv(t)
	holder, _ := e.activeCard(6)
	path := "/v1/cardholders/" + holder + "/corrections"
	phone := map[string]string{"field": "phone", "value": "13912345678", "reason": "new number"}

	refused(t, e.do(http.MethodPost, path, keyRsapp, phone), http.StatusForbidden, commands.CodeHolderNotBound)
	e.bindAs(keyRsapp, 6, domain.ConsentCardStatus)
	refused(t, e.do(http.MethodPost, path, keyRsapp, phone), http.StatusForbidden, commands.CodeConsentRequired)
	r := e.do(http.MethodPost, "/v1/cardholders/"+holder+"/consents", keyRsapp,
		map[string]any{"channel": "rsapp", "scopes": []domain.ConsentScope{domain.ConsentCardStatus, domain.ConsentContact}})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	refused(t, e.do(http.MethodPost, path, keyIcbcApp, phone), http.StatusForbidden, commands.CodeHolderNotBound)

	r = e.do(http.MethodPost, path, keyRsapp, phone)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"PhoneChanged"}, r.command(t).Events)
	h, _ := e.history("/v1/cardholders/" + holder + "/history")
	assert.JSONEq(t, `{"phone":"13912345678","channel":"rsapp","reason":"new number"}`, string(h.Events[len(h.Events)-1].Data))

	r = e.do(http.MethodPost, path, keyRsapp, map[string]string{"field": "name", "value": "测试柒", "reason": "r"})
	refused(t, r, http.StatusBadRequest, domain.CodeInvalidCommand)
	assert.Equal(t, domain.CodePhoneOnlyThroughChannel, r.problem(t).Errors[0].Code)
}

// An ID-number change moves the history to the new number's stream,
// linked both ways, the card replaced; the old stream is closed.
func TestIDNumberChangeOverHTTP(t *testing.T) {
	e := newEnv(t)
	oldID, card := e.activeCard(7)
	r := e.do(http.MethodPost, "/v1/cardholders/"+oldID+"/id-number-change", keyCounter,
		map[string]string{"new_id_number": idNumber(8), "reason": "birth date corrected"}, "X-Operator", "wang.li")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	res := r.command(t)
	assert.Equal(t, []string{"IdentityMovedIn", "CardholderRegistered", "CardApplied"}, res.Events)
	newID := res.CardholderID
	require.NotEqual(t, oldID, newID)

	old, _ := e.history("/v1/cardholders/" + oldID + "/history")
	assert.Equal(t, []string{"CardCancelled", "IdentityMovedOut"}, types(old)[len(old.Events)-2:])
	assert.JSONEq(t, `{"to_cardholder_id":"`+newID+`","replaced_card_no":"`+card+`","reason":"birth date corrected"}`,
		string(old.Events[len(old.Events)-1].Data))
	var state commands.StateView
	e.do(http.MethodGet, "/v1/cardholders/"+newID+"/state", keyCounter, nil).json(t, &state)
	assert.Equal(t, idNumber(8), state.Profile.IDNumber)
	assert.Equal(t, testName(7), state.Profile.Name, "the profile is carried over")
	assert.Equal(t, card, state.Card.ReplacesCardNo)

	refused(t, e.do(http.MethodPost, "/v1/cards/"+card+"/loss", keyCounter, nil), http.StatusConflict, domain.CodeIdentityMoved)
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+oldID+"/corrections", keyCounter,
		map[string]string{"field": "name", "value": "测试捌", "reason": "r"}), http.StatusConflict, domain.CodeIdentityMoved)
	// A number someone else holds is refused before anything is written.
	other := e.register(9)
	require.NotEmpty(t, other)
	before := e.streamLen(newID)
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+newID+"/id-number-change", keyCounter,
		map[string]string{"new_id_number": idNumber(9), "reason": "r"}), http.StatusConflict, domain.CodeAlreadyRegistered)
	assert.Equal(t, before, e.streamLen(newID), "the holder's stream is not closed for a change that cannot happen")
}
