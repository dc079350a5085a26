package commands_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Bank data a counter issuance records for a card.
const (
	testAccountNo = "6212260200012345678"
	testChipID    = "0123456789ABCDEF0123456789ABCDEF"
)

// instantIssueBody is what a bank counter sends: the bank, the account it
// opened and the chip id its card writer read.
func instantIssueBody() map[string]string {
	return map[string]string{"bank_code": "102", "account_no": testAccountNo, "chip_id": testChipID}
}

func (e *env) state(holder string) commands.StateView {
	e.t.Helper()
	r := e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state", keyAdmin, nil)
	require.Equal(e.t, http.StatusOK, r.Status, string(r.Body))
	var s commands.StateView
	r.json(e.t, &s)
	return s
}

// The ledger records the account and chip the bank gave and never makes
// them up: a counter issuance that lacks them is refused and appends
// nothing (not even a card number reservation). It used to store a
// 19-digit account number and a chip id hashed from the command id.
func TestInstantIssuanceRecordsOnlyWhatTheBankSent(t *testing.T) {
	e := newEnv(t)
	holder := e.register(1)
	before, events := e.revision(holder), e.eventCount()

	for _, tc := range []struct {
		name   string
		body   map[string]string
		fields []string
	}{
		{"neither", map[string]string{"bank_code": "102"}, []string{"account_no", "chip_id"}},
		{"no account", map[string]string{"bank_code": "102", "chip_id": testChipID}, []string{"account_no"}},
		{"no chip", map[string]string{"bank_code": "102", "account_no": testAccountNo}, []string{"chip_id"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank, tc.body)
			require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
			p := r.problem(t)
			var fields []string
			for _, f := range p.Errors {
				fields = append(fields, f.Field+":"+f.Code)
			}
			var want []string
			for _, f := range tc.fields {
				want = append(want, f+":"+domain.CodeRequired)
			}
			assert.Equal(t, want, fields)
		})
	}
	assert.Equal(t, before, e.revision(holder))
	assert.Equal(t, events, e.eventCount(), "nothing appended, no card number reserved")

	r := e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank, instantIssueBody())
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	card := e.state(holder).Card
	require.NotNil(t, card)
	assert.Equal(t, domain.StatusActive, card.Status)
	assert.Equal(t, testAccountNo, card.AccountNo)
	assert.Equal(t, testChipID, card.ChipID)
}

// A pending application whose account the bank already opened continues
// with that account (what the bank said then); the chip is still required.
func TestInstantIssuanceContinuesWithTheAccountTheBankOpened(t *testing.T) {
	e := newEnv(t)
	holder := e.register(1)
	r := e.do(http.MethodPost, "/v1/cardholders/"+holder+"/applications", keyCounter,
		map[string]string{"source": "counter", "bank_code": "102"})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/bank-account", keyBank,
		map[string]string{"bank_code": "102", "account_no": "62000000000000077"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	before := e.revision(holder)

	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank, map[string]string{"bank_code": "102"})
	require.Equal(t, http.StatusBadRequest, r.Status, string(r.Body))
	p := r.problem(t)
	assert.Equal(t, []httpapi.FieldError{{Field: "chip_id", Code: domain.CodeRequired, Message: "chip_id is required"}}, p.Errors)
	assert.Equal(t, before, e.revision(holder))

	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank,
		map[string]string{"bank_code": "102", "chip_id": testChipID})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	card := e.state(holder).Card
	assert.Equal(t, domain.StatusActive, card.Status)
	assert.Equal(t, "62000000000000077", card.AccountNo)
	assert.Equal(t, testChipID, card.ChipID)
}
