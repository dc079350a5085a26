package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/reconcile"
)

// Keys of the test server's clients.
const (
	keyAdmin       = "k-admin"
	keyIntegrator  = "k-integrator"   // account acc-1, which registered m1
	keyOtherAcct   = "k-other"        // account acc-2
	keyApp         = "k-app"          // app-1 of acc-1, bound to m1
	keyUnboundApp  = "k-unbound-app"  // app-9 of acc-1, not bound to m1
	keyIdentityApp = "k-identity-app" // an identity-reading app of acc-1
	keyCounter     = "k-counter"
)

func newServer(t *testing.T, f fixture) *httptest.Server {
	t.Helper()
	pay := domain.AppFinancialPayment
	authn := httpapi.StaticAuthenticator{
		keyAdmin:       {Client: "city-admin", Role: httpapi.RoleAdmin},
		keyIntegrator:  {Client: "integrator-acc-1", Role: httpapi.RoleIntegrator, Account: "acc-1"},
		keyOtherAcct:   {Client: "integrator-acc-2", Role: httpapi.RoleIntegrator, Account: "acc-2"},
		keyApp:         {Client: "app-app-1", Role: httpapi.RoleApp, Account: "acc-1", AppType: pay},
		keyUnboundApp:  {Client: "app-app-9", Role: httpapi.RoleApp, Account: "acc-1", AppType: pay},
		keyIdentityApp: {Client: "app-app-7", Role: httpapi.RoleApp, Account: "acc-1", AppType: domain.AppIdentityReading},
		keyCounter:     {Client: "counter-1", Role: httpapi.RoleCounter},
	}
	log := logrus.New()
	log.SetOutput(io.Discard)
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Auth: authn, Log: log}, reconcile.NewAPI(f.svc).Routes()))
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	body   []byte
	header http.Header
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(a.body, &m), "%s", a.body)
	return m
}

func call(t *testing.T, srv *httptest.Server, method, path, key string, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "text/plain")
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return answer{res.StatusCode, data, res.Header}
}

func settlementRows(t *testing.T, f fixture) int {
	t.Helper()
	var n int
	require.NoError(t, f.db.QueryRow(context.Background(), `SELECT count(*) FROM reconciliation_settlements`).Scan(&n))
	return n
}

// The merchant's payment app fetches its daily file and totals, imports
// the bank's settlement file with a planted mismatch of each kind, and
// reads the report as JSON and CSV; the same file again answers the same
// report, another file for the day and a badly framed file are refused
// with their codes, and nothing more is recorded.
func TestReconciliationOverHTTP(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f)
	data, ids := plant(t, f)

	daily := call(t, srv, http.MethodGet, "/v1/payment/merchants/"+m1+"/statements/2026-12-05", keyApp, nil)
	require.Equal(t, http.StatusOK, daily.status, "%s", daily.body)
	st, err := f.svc.Daily(context.Background(), m1, mustDay(t, "2026-12-05"))
	require.NoError(t, err)
	assert.Equal(t, string(st.File), string(daily.body))
	assert.True(t, strings.HasPrefix(string(daily.body), "H|CLR1|merchant_daily|"+m1+"|2026-12-05|5\n"))

	totals := call(t, srv, http.MethodGet, "/v1/payment/merchants/"+m1+"/statements/2026-12-05/totals", keyApp, nil)
	require.Equal(t, http.StatusOK, totals.status, "%s", totals.body)
	assert.Equal(t, map[string]any{"merchant_id": m1, "date": "2026-12-05", "sha256": st.SHA256,
		"totals": map[string]any{"payments": 4.0, "payment_fen": 7300.0, "refunds": 1.0, "refund_fen": 200.0, "net_fen": 7100.0}},
		totals.json(t))

	first := call(t, srv, http.MethodPost, "/v1/payment/merchants/"+m1+"/settlements", keyApp, data)
	require.Equal(t, http.StatusCreated, first.status, "%s", first.body)
	report := first.json(t)
	assert.Equal(t, "app-app-1", report["imported_by"])
	assert.Equal(t, 2.0, report["matched"])
	var kinds []string
	for _, m := range report["mismatches"].([]any) {
		kinds = append(kinds, m.(map[string]any)["kind"].(string))
	}
	assert.Equal(t, []string{reconcile.AmountDiffers, reconcile.MissingOurs, reconcile.MissingBank, reconcile.TypeDiffers}, kinds)

	again := call(t, srv, http.MethodPost, "/v1/payment/merchants/"+m1+"/settlements", keyIntegrator, data)
	require.Equal(t, http.StatusOK, again.status, "%s", again.body)
	assert.JSONEq(t, string(first.body), string(again.body))

	stored := call(t, srv, http.MethodGet, "/v1/payment/merchants/"+m1+"/settlements/2026-12-05", keyAdmin, nil)
	require.Equal(t, http.StatusOK, stored.status, "%s", stored.body)
	assert.JSONEq(t, string(first.body), string(stored.body))

	csv := call(t, srv, http.MethodGet, "/v1/payment/merchants/"+m1+"/settlements/2026-12-05/mismatches.csv", keyApp, nil)
	require.Equal(t, http.StatusOK, csv.status, "%s", csv.body)
	assert.Equal(t, "text/csv; charset=utf-8", csv.header.Get("Content-Type"))
	rows := strings.Split(strings.TrimSuffix(string(csv.body), "\r\n"), "\r\n")
	require.Len(t, rows, 5)
	assert.Equal(t, "missing_bank,102,p-only-ours,"+ids["A-only-ours"]+",A-only-ours,,payment,300,,,", rows[3])

	different := reframe(t, bytes.Replace(data, []byte("|650\n"), []byte("|651\n"), 1))
	conflict := call(t, srv, http.MethodPost, "/v1/payment/merchants/"+m1+"/settlements", keyApp, different)
	assert.Equal(t, http.StatusConflict, conflict.status, "%s", conflict.body)
	assert.Equal(t, reconcile.CodeDifferent, conflict.json(t)["code"])

	// A badly framed file of another day: refused by line, nothing recorded.
	next, err := reconcile.WriteSettlement(m1, mustDay(t, "2026-12-06"), []reconcile.SettlementLine{sl("p-after", reconcile.TxnPayment, 1)})
	require.NoError(t, err)
	broken := bytes.Replace(next, []byte("|payment|"), []byte("|payment|x|"), 1)
	bad := call(t, srv, http.MethodPost, "/v1/payment/merchants/"+m1+"/settlements", keyApp, broken)
	require.Equal(t, http.StatusBadRequest, bad.status, "%s", bad.body)
	problem := bad.json(t)
	assert.Equal(t, reconcile.CodeRejected, problem["code"])
	assert.Contains(t, problem["errors"], map[string]any{"field": "line 2", "code": "bad_line",
		"message": "want D|seq and 5 fields, got 6 after D|seq"})
	badField := reframe(t, bytes.Replace(next, []byte("|1\n"), []byte("|1\n"), 1))
	badField = bytes.Replace(badField, []byte("|payment|"), []byte("|chargeback|"), 1)
	badField = reframe(t, badField)
	refused := call(t, srv, http.MethodPost, "/v1/payment/merchants/"+m1+"/settlements", keyApp, badField)
	require.Equal(t, http.StatusBadRequest, refused.status, "%s", refused.body)
	assert.Contains(t, refused.json(t)["errors"], map[string]any{"field": "line 2: txn_type", "code": reconcile.CodeBadTxnType,
		"message": `"chargeback" is not payment or refund`})
	assert.Equal(t, 1, settlementRows(t, f))
	none := call(t, srv, http.MethodGet, "/v1/payment/merchants/"+m1+"/settlements/2026-12-06", keyApp, nil)
	assert.Equal(t, http.StatusNotFound, none.status)
	assert.Equal(t, reconcile.CodeNoReport, none.json(t)["code"])
	noneCSV := call(t, srv, http.MethodGet, "/v1/payment/merchants/"+m1+"/settlements/2026-12-06/mismatches.csv", keyApp, nil)
	assert.Equal(t, http.StatusNotFound, noneCSV.status)
}

// Only the merchant's account, the apps bound to it and administrators
// reach its reconciliation.
func TestReconciliationScope(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f)
	data, _ := plant(t, f)
	for _, c := range []struct {
		key    string
		path   string
		status int
		code   string
	}{
		{keyAdmin, "/v1/payment/merchants/" + m1 + "/statements/2026-12-05/totals", http.StatusOK, ""},
		{keyIntegrator, "/v1/payment/merchants/" + m1 + "/statements/2026-12-05/totals", http.StatusOK, ""},
		{keyApp, "/v1/payment/merchants/" + m1 + "/statements/2026-12-05/totals", http.StatusOK, ""},
		{keyOtherAcct, "/v1/payment/merchants/" + m1 + "/statements/2026-12-05/totals", http.StatusNotFound, domain.CodeMerchantNotFound},
		{keyUnboundApp, "/v1/payment/merchants/" + m1 + "/statements/2026-12-05/totals", http.StatusConflict, domain.CodeMerchantAppNotBound},
		{keyIdentityApp, "/v1/payment/merchants/" + m1 + "/statements/2026-12-05/totals", http.StatusForbidden, "app_scope"},
		{keyCounter, "/v1/payment/merchants/" + m1 + "/statements/2026-12-05/totals", http.StatusForbidden, "forbidden"},
		{keyIntegrator, "/v1/payment/merchants/m404/statements/2026-12-05/totals", http.StatusNotFound, domain.CodeMerchantNotFound},
		{keyIntegrator, "/v1/payment/merchants/" + m1 + "/statements/2026-02-30/totals", http.StatusBadRequest, httpapi.CodeInvalid},
		{keyOtherAcct, "/v1/payment/merchants/" + m1 + "/statements/2026-12-05", http.StatusNotFound, domain.CodeMerchantNotFound},
		{keyOtherAcct, "/v1/payment/merchants/" + m1 + "/settlements/2026-12-05", http.StatusNotFound, domain.CodeMerchantNotFound},
		{keyUnboundApp, "/v1/payment/merchants/" + m1 + "/settlements/2026-12-05/mismatches.csv", http.StatusConflict, domain.CodeMerchantAppNotBound},
	} {
		a := call(t, srv, http.MethodGet, c.path, c.key, nil)
		require.Equal(t, c.status, a.status, "%s %s: %s", c.key, c.path, a.body)
		if c.code != "" {
			assert.Equal(t, c.code, a.json(t)["code"], "%s %s", c.key, c.path)
		}
	}
	for key, status := range map[string]int{keyOtherAcct: http.StatusNotFound, keyUnboundApp: http.StatusConflict} {
		a := call(t, srv, http.MethodPost, "/v1/payment/merchants/"+m1+"/settlements", key, data)
		assert.Equal(t, status, a.status, "%s: %s", key, a.body)
	}
	// another merchant's file offered under m1's path
	other, err := reconcile.WriteSettlement(m2, mustDay(t, "2026-12-05"), []reconcile.SettlementLine{sl("p-other-merchant", reconcile.TxnPayment, 700)})
	require.NoError(t, err)
	a := call(t, srv, http.MethodPost, "/v1/payment/merchants/"+m1+"/settlements", keyApp, other)
	require.Equal(t, http.StatusBadRequest, a.status, "%s", a.body)
	assert.Contains(t, a.json(t)["errors"], map[string]any{"field": "line 1: merchant", "code": reconcile.CodeWrongMerchant,
		"message": `the file is for merchant "` + m2 + `", not "` + m1 + `"`})
	assert.Equal(t, 0, settlementRows(t, f))
}
