package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/reconcile"
)

// rawCall sends a text body (nil: none), signed as cred's app, and returns
// the status and the body as is.
func (p payAPI) rawCall(method, path string, cred payCred, body []byte) (int, []byte) {
	p.t.Helper()
	req, err := http.NewRequestWithContext(p.ctx, method, p.url+path, bytes.NewReader(body))
	require.NoError(p.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "text/plain")
	}
	nonce := make([]byte, 16)
	_, _ = rand.Read(nonce)
	require.NoError(p.t, httpapi.SignRequest(req, cred.client, []byte(cred.secret), hex.EncodeToString(nonce), time.Now()))
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(p.t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(p.t, err)
	return res.StatusCode, out
}

// Reconciliation over the whole service: orders paid with e-card codes
// through the bank simulator and one refunded; the merchant's app fetches
// the day's file, and the bank's settlement file made from it with a
// planted mismatch of each kind comes back as a report naming each.
func TestReconciliationOfPaidOrdersOverTheService(t *testing.T) {
	r, p, w := startPayments(t)
	holder := payHolder(p, r.keys["admin"], r.keys["app"], 1)
	pay := func(no string, fen int64) map[string]any {
		o := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order(no, fen, "http://127.0.0.1:9/notify"))
		return p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+o["id"].(string)+"/payment", w.app,
			map[string]any{"payment_code": paymentCode(p, r.keys["app"], holder)})
	}
	kept, amount, dropped, flipped := pay("R-1", 1000), pay("R-2", 2000), pay("R-3", 3000), pay("R-4", 4000)
	refund := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+kept["id"].(string)+"/refunds", w.app,
		map[string]any{"refund_no": "RF-1", "amount_fen": 500})
	paidAt, err := time.Parse(time.RFC3339Nano, kept["paid_at"].(string))
	require.NoError(t, err)
	refundAt, err := time.Parse(time.RFC3339Nano, refund["refunds"].([]any)[0].(map[string]any)["at"].(string))
	require.NoError(t, err)
	day := reconcile.DayOf(paidAt)
	if reconcile.DayOf(refundAt) != day {
		t.Skip("Beijing midnight fell between the payments and the refund; the day's file would hold part of them")
	}
	base := "/v1/payment/merchants/" + w.merchant

	// The read model catches up with the payments: then the day's file has them all.
	var daily []byte
	poll(t, r.ctx, "the daily file lists 4 payments and the refund", func() bool {
		status, body := p.rawCall(http.MethodGet, base+"/statements/"+day.String(), w.app, nil)
		require.Equal(t, http.StatusOK, status, "%s", body)
		daily = body
		return strings.HasPrefix(string(body), "H|CLR1|merchant_daily|"+w.merchant+"|"+day.String()+"|5\n")
	})
	totals := p.must(http.StatusOK, http.MethodGet, base+"/statements/"+day.String()+"/totals", bearerCred(w.integrator), nil)
	assert.Equal(t, map[string]any{"payments": 4.0, "payment_fen": 10000.0, "refunds": 1.0, "refund_fen": 500.0, "net_fen": 9500.0},
		totals["totals"])

	// The bank's file: the daily file's lines, with a mismatch of each kind planted.
	ref := func(o map[string]any) string { return o["bank_txn_id"].(string) }
	var lines []reconcile.SettlementLine
	for _, l := range strings.Split(strings.TrimSuffix(string(daily), "\n"), "\n")[1:6] {
		f := strings.Split(l, "|")
		fen, err := strconv.ParseInt(f[8], 10, 64)
		require.NoError(t, err)
		line := reconcile.SettlementLine{BankCode: f[2], BankTxnID: f[3], Type: f[4], OrderID: f[5], AmountFen: fen}
		switch line.BankTxnID {
		case ref(dropped):
			continue
		case ref(amount):
			line.AmountFen--
		case ref(flipped):
			line.Type = reconcile.TxnRefund
		}
		lines = append(lines, line)
	}
	lines = append(lines, reconcile.SettlementLine{BankCode: "102", BankTxnID: "SIM-NOT-OURS", Type: reconcile.TxnPayment, AmountFen: 777})
	file, err := reconcile.WriteSettlement(w.merchant, day, lines)
	require.NoError(t, err)

	status, body := p.rawCall(http.MethodPost, base+"/settlements", w.app, file)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var report reconcile.DayReport
	require.NoError(t, json.Unmarshal(body, &report))
	kinds := map[string]string{}
	for _, m := range report.Mismatches {
		kinds[m.BankTxnID] = m.Kind
	}
	assert.Equal(t, map[string]string{ref(amount): reconcile.AmountDiffers, ref(dropped): reconcile.MissingBank,
		ref(flipped): reconcile.TypeDiffers, "SIM-NOT-OURS": reconcile.MissingOurs}, kinds)
	assert.Equal(t, 2, report.Matched, "the kept payment and its refund")

	again, same := p.rawCall(http.MethodPost, base+"/settlements", w.app, file)
	assert.Equal(t, http.StatusOK, again)
	assert.JSONEq(t, string(body), string(same))
	status, csv := p.rawCall(http.MethodGet, base+"/settlements/"+day.String()+"/mismatches.csv", w.app, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, 5, strings.Count(string(csv), "\r\n"), "%s", csv)

	broken := bytes.Replace(file, []byte("|777\n"), []byte("|778\n"), 1)
	status, refused := p.rawCall(http.MethodPost, base+"/settlements", w.app, broken)
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, string(refused), `"code":"settlement_file_rejected"`)
	assert.Contains(t, string(refused), `"code":"bad_checksum"`)
	stored, still := p.rawCall(http.MethodGet, base+"/settlements/"+day.String(), w.app, nil)
	require.Equal(t, http.StatusOK, stored)
	assert.JSONEq(t, string(body), string(still))
}
