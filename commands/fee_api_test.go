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

func feeSchedule(elderlyAge int) func(*commands.API) {
	return func(a *commands.API) {
		a.WithReplacementFee(domain.FeeSchedule{AmountFen: 2000, ElderlyAge: elderlyAge,
			Exemptions: []domain.FeeExemption{domain.FeeExemptElderly, domain.FeeExemptHardship, domain.FeeExemptCardDefect}})
	}
}

// A channel's replacement of a lost card records the fee like the
// counter's; the bank's counter cannot make the card until it is paid.
func TestChannelReplacementOverHTTPRecordsItsFee(t *testing.T) {
	e := newEnvWith(t, feeSchedule(70))
	holder, _ := e.activeCard(35)
	self := "/v1/cardholders/" + holder + "/self-service"
	e.bindAs(keyRsapp, 35, domain.ConsentSelfService, domain.ConsentCardStatus)
	require.Equal(t, http.StatusOK, e.do(http.MethodPost, self+"/temporary-loss", keyRsapp, nil).Status)
	r := e.do(http.MethodPost, self+"/instant-application", keyRsapp, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardCancelled", "CardApplied", "ReplacementFeeAssessed", "ECardCarriedOver"}, r.command(t).Events)
	state := e.state(holder)
	require.NotNil(t, state.Card.Fee)
	assert.Equal(t, commands.FeeView{AmountFen: 2000, AssessedOn: state.Card.Fee.AssessedOn, Due: true}, *state.Card.Fee)
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank, instantIssueBody()),
		http.StatusConflict, domain.CodeReplacementFeeUnpaid)
	assert.Equal(t, state.Revision, e.state(holder).Revision, "the refusal appended nothing")
}

// A bank's instant issue after a cancellation opens a replacement
// application itself: refused while its fee would be due (nothing
// appended, no number reserved), made at once for an exempted holder.
func TestInstantIssueReplacingACancelledCardOverHTTPRecordsItsFee(t *testing.T) {
	cancelledHolder := func(e *env, n int) string {
		holder, card := e.activeCard(n)
		r := e.do(http.MethodPost, "/v1/cards/"+card+"/cancellation", keyCounter, map[string]any{"reason": "holder asked"})
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		return holder
	}
	e := newEnvWith(t, feeSchedule(70))
	holder := cancelledHolder(e, 36)
	before := e.state(holder).Revision
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank, instantIssueBody()),
		http.StatusConflict, domain.CodeReplacementFeeUnpaid)
	assert.Equal(t, before, e.state(holder).Revision, "the refusal appended nothing")

	// Every test holder is "elderly" at an elderly age of 1.
	old := newEnvWith(t, feeSchedule(1))
	holder = cancelledHolder(old, 37)
	r := old.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank, instantIssueBody())
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardApplied", "ReplacementFeeAssessed", "BankAccountOpened", "CardNumberAssigned",
		"CardProduced", "CardIssued", "CardActivated"}, r.command(t).Events)
	fee := old.state(holder).Card.Fee
	require.NotNil(t, fee)
	assert.Equal(t, domain.FeeExemptElderly, fee.Exemption)
	assert.False(t, fee.Due)
}

// A counter's application after a cancellation is a replacement and pays.
func TestApplicationReplacingACancelledCardOverHTTPRecordsItsFee(t *testing.T) {
	e := newEnvWith(t, feeSchedule(70))
	holder, card := e.activeCard(38)
	r := e.do(http.MethodPost, "/v1/cards/"+card+"/cancellation", keyCounter, map[string]any{"reason": "holder asked"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/applications", keyBank, map[string]any{"source": "bank", "bank_code": "102"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardApplied", "ReplacementFeeAssessed"}, r.command(t).Events)
	fee := e.state(holder).Card.Fee
	require.NotNil(t, fee)
	assert.True(t, fee.Due)
	refused(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank, instantIssueBody()),
		http.StatusConflict, domain.CodeReplacementFeeUnpaid)
}
