package payments_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/payments"
	"github.com/cardledger/cardledger/payments/banksim"
)

// The simulator behind the bank port over a real socket: approvals whose
// reference a repeat gets again, the planned decline, refunds; a bank that
// answers anything else is ErrBankUnavailable.
func TestBankPortAndSimulator(t *testing.T) {
	ctx := context.Background()
	srv := httptest.NewServer(banksim.Handler(banksim.Options{Seed: 7}))
	defer srv.Close()
	bank := payments.NewHTTPBank(srv.URL, nil)
	pay := payments.BankPayment{BankCode: "102", CardNo: "A10984916", OrderID: "o-1", MerchantID: "m-1", AmountFen: 12800}
	first, err := bank.Pay(ctx, pay)
	require.NoError(t, err)
	again, err := bank.Pay(ctx, pay)
	require.NoError(t, err)
	assert.Equal(t, payments.BankApproved, first.Status)
	assert.Equal(t, first, again, "a repeated payment is the same payment")
	pay.AmountFen, pay.OrderID = 1044, "o-2"
	declined, err := bank.Pay(ctx, pay)
	require.NoError(t, err)
	assert.Equal(t, payments.BankAnswer{Status: payments.BankDeclined, Reason: "insufficient_funds"}, declined)
	refund, err := bank.Refund(ctx, payments.BankRefund{BankCode: "102", OrderID: "o-1", RefundNo: "R1", BankTxnID: first.Reference, AmountFen: 100})
	require.NoError(t, err)
	assert.Equal(t, payments.BankApproved, refund.Status)
	assert.NotEqual(t, first.Reference, refund.Reference)
	_, err = bank.Pay(ctx, payments.BankPayment{OrderID: "o-3"})
	assert.True(t, errors.Is(err, payments.ErrBankUnavailable), "a request the bank refuses (400): %v", err)

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer down.Close()
	_, err = payments.NewHTTPBank(down.URL, nil).Pay(ctx, payments.BankPayment{BankCode: "102", CardNo: "A10984916", OrderID: "o-1", AmountFen: 1})
	assert.True(t, errors.Is(err, payments.ErrBankUnavailable), "%v", err)
	inproc, err := payments.NewInProcessBank(banksim.Handler(banksim.Options{Seed: 7})).Pay(ctx,
		payments.BankPayment{BankCode: "102", CardNo: "A10984916", OrderID: "o-1", MerchantID: "m-1", AmountFen: 12800})
	require.NoError(t, err)
	assert.Equal(t, first, inproc, "in process, the same interface and answers")
}
