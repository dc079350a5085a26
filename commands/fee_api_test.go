package commands_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// With a fee configured, a replacement at the counter records its fee;
// the claimed exemption waives it; the bank's instant issue of the held
// application is refused until it is paid.
func TestReplacementOverHTTPRecordsItsFee(t *testing.T) {
	e := newEnvWith(t, func(a *commands.API) {
		a.WithReplacementFee(domain.FeeSchedule{AmountFen: 2000, ElderlyAge: 70,
			Exemptions: []domain.FeeExemption{domain.FeeExemptElderly, domain.FeeExemptHardship}})
	})
	holder, card := e.activeCard(31)
	r := e.do(http.MethodPost, "/v1/cards/"+card+"/replacement", keyCounter, map[string]any{"bank_code": "102", "reason": "lost"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardCancelled", "CardApplied", "ReplacementFeeAssessed"}, r.command(t).Events)
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank, instantIssueBody()),
		http.StatusConflict, domain.CodeReplacementFeeUnpaid)

	_, card2 := e.activeCard(32)
	refused(t, e.do(http.MethodPost, "/v1/cards/"+card2+"/replacement", keyCounter, map[string]any{"bank_code": "102", "fee_exemption": "card_defect"}),
		http.StatusBadRequest, domain.CodeInvalidCommand)
	r = e.do(http.MethodPost, "/v1/cards/"+card2+"/replacement", keyCounter, map[string]any{"bank_code": "102", "fee_exemption": "hardship"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var state commands.StateView
	e.do(http.MethodGet, "/v1/cardholders/"+r.command(t).CardholderID+"/state", keyCounter, nil).json(t, &state)
	require.NotNil(t, state.Card)
	require.NotNil(t, state.Card.Fee)
	assert.Equal(t, domain.FeeExemptHardship, state.Card.Fee.Exemption)
	assert.False(t, state.Card.Fee.Due)
}

// Without a fee configured a replacement is as before, and claiming an
// exemption is refused (the zero schedule grants none; the default
// configuration grants all three and answers no_fee_due).
func TestReplacementWithoutAFeeIsAsBefore(t *testing.T) {
	e := newEnv(t)
	_, card := e.activeCard(33)
	refused(t, e.do(http.MethodPost, "/v1/cards/"+card+"/replacement", keyCounter, map[string]any{"bank_code": "102", "fee_exemption": "hardship"}),
		http.StatusBadRequest, domain.CodeInvalidCommand)
	e2 := newEnvWith(t, func(a *commands.API) {
		a.WithReplacementFee(domain.FeeSchedule{ElderlyAge: 70, Exemptions: []domain.FeeExemption{domain.FeeExemptHardship}})
	})
	_, card2 := e2.activeCard(34)
	refused(t, e2.do(http.MethodPost, "/v1/cards/"+card2+"/replacement", keyCounter, map[string]any{"bank_code": "102", "fee_exemption": "hardship"}),
		http.StatusConflict, domain.CodeNoFeeDue)
	r := e.do(http.MethodPost, "/v1/cards/"+card+"/replacement", keyCounter, map[string]any{"bank_code": "102"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardCancelled", "CardApplied"}, r.command(t).Events)
}
