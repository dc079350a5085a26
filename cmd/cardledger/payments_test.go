package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/payments"
	"github.com/cardledger/cardledger/payments/banksim"
)

// startPayments is the e-card rig (admin, channel client "app" of channel
// rsapp) with private notify URLs allowed, the deliveries running on a
// short retry schedule (3 calls, 10 ms doubling), and a payment world.
func startPayments(t *testing.T) (*ecardRig, payAPI, payWorld) {
	t.Helper()
	r := startECardRigWith(t, map[string]string{"CARDLEDGER_DELIVERY_ALLOW_PRIVATE": "true"})
	startDeliveries(t, r.b, deliveries.Options{MaxAttempts: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		Timeout: 2 * time.Second})
	p := payAPI{t: t, ctx: r.ctx, url: r.url}
	return r, p, newPayWorld(p, r.keys["admin"])
}

// eventCount is how many events the store holds.
func eventCount(t *testing.T, r *ecardRig) int {
	t.Helper()
	var n int
	require.NoError(t, r.b.d.pool.QueryRow(context.Background(), `SELECT count(*) FROM eventstore_events`).Scan(&n))
	return n
}

// The payment journey over HTTP: orders created, paid with a payment code
// and online, declined, refunded in parts; the merchant's receiver fails
// the first two calls of each notification and still gets every one, in
// order, signed with the merchant's secret; a receiver that always fails
// fills the dead-letter list, and a redelivery sends its notification again.
func TestPaymentJourney(t *testing.T) {
	r, p, w := startPayments(t)
	const failFirst = 2
	recv := newReceiver(t, func(_ deliveries.Body, try int) int {
		if try <= failFirst {
			return http.StatusInternalServerError
		}
		return 0
	})
	holder := payHolder(p, r.keys["admin"], r.keys["app"], 1)

	// Created; the same order again is the same order; other terms are refused.
	o1 := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("A-1", 12800, recv.srv.URL))
	assert.Equal(t, "created", o1["status"])
	again := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders", w.app, w.order("A-1", 12800, recv.srv.URL))
	assert.Equal(t, o1["id"], again["id"])
	reused := p.must(http.StatusConflict, http.MethodPost, "/v1/payment/orders", w.app, w.order("A-1", 12900, recv.srv.URL))
	assert.Equal(t, domain.CodeOrderNumberReused, reused["code"])

	// Paid with the holder's payment code, scanned by the merchant.
	id1 := o1["id"].(string)
	paid := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+id1+"/payment", w.app,
		map[string]any{"payment_code": paymentCode(p, r.keys["app"], holder)})
	assert.Equal(t, "paid", paid["status"])
	assert.Equal(t, "102", paid["bank_code"])
	assert.Equal(t, domain.PayByCode, paid["method"])
	assert.NotEmpty(t, paid["bank_txn_id"])
	twice := p.must(http.StatusConflict, http.MethodPost, "/v1/payment/orders/"+id1+"/payment", w.app,
		map[string]any{"payment_code": paymentCode(p, r.keys["app"], holder)})
	assert.Equal(t, domain.CodeOrderAlreadyPaid, twice["code"])

	// Refunded in two parts; more than what is left is refused.
	part := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+id1+"/refunds", w.app,
		map[string]any{"refund_no": "R1", "amount_fen": 2800})
	assert.Equal(t, []any{"partially_refunded", float64(2800)}, []any{part["status"], part["refunded_fen"]})
	over := p.must(http.StatusConflict, http.MethodPost, "/v1/payment/orders/"+id1+"/refunds", w.app,
		map[string]any{"refund_no": "R2", "amount_fen": 10001})
	assert.Equal(t, domain.CodeRefundExceedsPaid, over["code"])
	rest := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+id1+"/refunds", w.app,
		map[string]any{"refund_no": "R2", "amount_fen": 10000})
	assert.Equal(t, []any{"refunded", float64(12800)}, []any{rest["status"], rest["refunded_fen"]})
	same := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+id1+"/refunds", w.app,
		map[string]any{"refund_no": "R2", "amount_fen": 10000})
	assert.Equal(t, rest["revision"], same["revision"], "a refund sent twice is refunded once")

	// Paid online: the holder confirms in the channel's app.
	o2 := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("A-2", 500, recv.srv.URL))
	online := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+o2["id"].(string)+"/confirmation",
		bearerCred(r.keys["app"]), map[string]any{"cardholder_id": holder})
	assert.Equal(t, []any{"paid", domain.PayByOnline, "rsapp"}, []any{online["status"], online["method"], online["channel"]})

	// Declined by the bank (the simulator declines amounts ending in 44 fen).
	o3 := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("A-3", 1044, recv.srv.URL))
	failed := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+o3["id"].(string)+"/payment", w.app,
		map[string]any{"payment_code": paymentCode(p, r.keys["app"], holder)})
	assert.Equal(t, []any{"failed", "insufficient_funds"}, []any{failed["status"], failed["reason"]})

	// Every outcome notified, in order, each after two failed calls.
	want := []string{domain.TypePaymentOrderPaid, domain.TypePaymentOrderRefunded, domain.TypePaymentOrderRefunded,
		domain.TypePaymentOrderPaid, domain.TypePaymentOrderFailed}
	poll(t, r.ctx, "five notifications accepted", func() bool { return len(recv.ids()) >= len(want) })
	var types []string
	for _, c := range recv.got() {
		types = append(types, c.body.Type)
		assert.True(t, deliveries.Verify(w.notifySecret, c.timestamp, c.eventID, c.raw, c.signature), "signature of %s", c.eventID)
		var data map[string]any
		require.NoError(t, json.Unmarshal(c.body.Data, &data))
		assert.Equal(t, w.merchant, data["merchant_id"])
		assert.Equal(t, c.body.Stream, domain.PaymentOrderStreamFor(data["order_id"].(string)))
		recv.mu.Lock()
		assert.Equal(t, failFirst+1, recv.tries[c.body.EventID], "%s answered on the third call", c.body.Type)
		recv.mu.Unlock()
	}
	assert.Equal(t, want, types)
	var first map[string]any
	require.NoError(t, json.Unmarshal(recv.got()[0].body.Data, &first))
	assert.Equal(t, []any{"A-1", float64(12800)}, []any{first["merchant_order_no"], first["amount_fen"]})

	// A receiver that always fails: dead-lettered after three calls.
	var accept atomic.Bool
	down := newReceiver(t, func(_ deliveries.Body, _ int) int {
		if accept.Load() {
			return 0
		}
		return http.StatusInternalServerError
	})
	o4 := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("A-4", 700, down.srv.URL))
	p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+o4["id"].(string)+"/confirmation",
		bearerCred(r.keys["app"]), map[string]any{"cardholder_id": holder})
	var dead []any
	poll(t, r.ctx, "the notification dead-lettered", func() bool {
		out := p.must(http.StatusOK, http.MethodGet, "/v1/payment/merchants/"+w.merchant+"/notifications/dead-letters", w.app, nil)
		dead = out["dead_letters"].([]any)
		return len(dead) == 1
	})
	letter := dead[0].(map[string]any)
	assert.Equal(t, []any{domain.TypePaymentOrderPaid, float64(3)}, []any{letter["type"], letter["attempts"]})
	st := p.must(http.StatusOK, http.MethodGet, "/v1/payment/merchants/"+w.merchant+"/notifications", w.app, nil)
	assert.Equal(t, float64(1), st["dead_letters"])

	// Redelivery on request: from just before the dead letter, once the receiver is back.
	accept.Store(true)
	var before string
	for _, c := range recv.got() {
		before = c.body.Position // the last notification before it
	}
	p.must(http.StatusAccepted, http.MethodPost, "/v1/payment/merchants/"+w.merchant+"/notifications/redelivery", w.app,
		map[string]any{"from_position": before})
	// The redelivery takes effect at the next event appended: close an order.
	o5 := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("A-5", 900, recv.srv.URL))
	p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+o5["id"].(string)+"/closure", w.app, nil)
	poll(t, r.ctx, "the dead letter delivered again", func() bool { return slices.Contains(down.ids(), letter["event_id"].(string)) })

	// Another account's app sees nothing of this merchant and takes no order for it.
	other := newPayWorld(p, r.keys["admin"])
	assert.Equal(t, domain.CodeMerchantNotFound, p.must(http.StatusNotFound, http.MethodGet,
		"/v1/payment/merchants/"+w.merchant, other.app, nil)["code"])
	assert.Equal(t, domain.CodeMerchantAppNotBound, p.must(http.StatusConflict, http.MethodPost, "/v1/payment/orders",
		other.app, w.order("X-1", 100, recv.srv.URL))["code"])
	assert.Equal(t, domain.CodeOrderNotFound, p.must(http.StatusNotFound, http.MethodGet,
		"/v1/payment/orders/"+id1, other.app, nil)["code"])
}

// Each bad input is a 4xx problem with its exact code, and nothing is
// appended to the log.
func TestPaymentBadInputs(t *testing.T) {
	r, p, w := startPayments(t)
	admin, channel := r.keys["admin"], r.keys["app"]
	holder := payHolder(p, admin, channel, 2)
	const notify = "http://127.0.0.1:9/notify"
	paid := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("P-1", 1000, notify))["id"].(string)
	p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+paid+"/payment", w.app,
		map[string]any{"payment_code": paymentCode(p, channel, holder)})
	open := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("P-2", 1000, notify))["id"].(string)
	pending := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/merchants", w.app, merchantBody())["merchant"].(map[string]any)["id"].(string)
	identityCode := r.code(holder) // an identity code, not a payment code
	order := func(merchant, fen string) json.RawMessage {
		return json.RawMessage(`{"merchant_id":"` + merchant + `","merchant_order_no":"B-1","amount_fen":` + fen +
			`,"description":"药品","notify_url":"` + notify + `"}`)
	}
	cases := []struct {
		name   string
		method string
		path   string
		cred   payCred
		body   any
		status int
		code   string
	}{
		{"zero amount", http.MethodPost, "/v1/payment/orders", w.app, order(w.merchant, "0"), 400, domain.CodeOrderAmountInvalid},
		{"negative amount", http.MethodPost, "/v1/payment/orders", w.app, order(w.merchant, "-100"), 400, domain.CodeOrderAmountInvalid},
		{"fractional fen", http.MethodPost, "/v1/payment/orders", w.app, order(w.merchant, "12.5"), 400, domain.CodeOrderAmountInvalid},
		{"amount as a string", http.MethodPost, "/v1/payment/orders", w.app, order(w.merchant, `"1000"`), 400, domain.CodeOrderAmountInvalid},
		{"over the limit", http.MethodPost, "/v1/payment/orders", w.app, order(w.merchant, "5000001"), 400, domain.CodeOrderAmountInvalid},
		{"unknown merchant", http.MethodPost, "/v1/payment/orders", w.app, order("3f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "100"), 404, domain.CodeMerchantNotFound},
		{"merchant not approved", http.MethodPost, "/v1/payment/orders", w.app, order(pending, "100"), 409, domain.CodeMerchantNotApproved},
		{"same number, other amount", http.MethodPost, "/v1/payment/orders", w.app, w.order("P-2", 999, notify), 409, domain.CodeOrderNumberReused},
		{"notify url not http", http.MethodPost, "/v1/payment/orders", w.app, w.order("B-2", 100, "ftp://shop.example/n"), 400, domain.CodeInvalidCommand},
		{"paid twice", http.MethodPost, "/v1/payment/orders/" + paid + "/payment", w.app,
			map[string]any{"payment_code": paymentCode(p, channel, holder)}, 409, domain.CodeOrderAlreadyPaid},
		{"paid twice online", http.MethodPost, "/v1/payment/orders/" + paid + "/confirmation", bearerCred(channel),
			map[string]any{"cardholder_id": holder}, 409, domain.CodeOrderAlreadyPaid},
		{"an identity code to pay", http.MethodPost, "/v1/payment/orders/" + open + "/payment", w.app,
			map[string]any{"payment_code": identityCode}, 400, "code_malformed"},
		{"refund larger than paid", http.MethodPost, "/v1/payment/orders/" + paid + "/refunds", w.app,
			map[string]any{"refund_no": "R1", "amount_fen": 1001}, 409, domain.CodeRefundExceedsPaid},
		{"refund of an unpaid order", http.MethodPost, "/v1/payment/orders/" + open + "/refunds", w.app,
			map[string]any{"refund_no": "R1", "amount_fen": 1}, 409, domain.CodeOrderNotPaid},
		{"fractional refund", http.MethodPost, "/v1/payment/orders/" + paid + "/refunds", w.app,
			json.RawMessage(`{"refund_no":"R1","amount_fen":0.5}`), 400, domain.CodeOrderAmountInvalid},
		{"merchant approved twice", http.MethodPost, "/v1/payment/merchants/" + w.merchant + "/approval", bearerCred(admin), nil, 409, domain.CodeMerchantDecided},
		{"merchant with a bad credit code", http.MethodPost, "/v1/payment/merchants", w.app,
			func() map[string]any { b := merchantBody(); b["credit_code"] = "91350100M000100Y44"; return b }(), 400, domain.CodeInvalidCommand},
		{"an integrator creates an order", http.MethodPost, "/v1/payment/orders", bearerCred(w.integrator), w.order("B-3", 100, notify), 403, "forbidden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := eventCount(t, r)
			status, body := p.call(c.method, c.path, c.cred, c.body)
			assert.Equal(t, []any{c.status, c.code}, []any{status, body["code"]}, "%v", body)
			assert.Equal(t, before, eventCount(t, r), "nothing recorded")
		})
	}
}

// A bank that does not answer: 502 bank_unavailable, nothing recorded, and
// the payment code given back, so the same code pays once the bank is back.
func TestPaymentWhenTheBankIsDown(t *testing.T) {
	var up atomic.Bool
	sim := banksim.Handler(banksim.Options{})
	bank := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if !up.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		sim.ServeHTTP(w, req)
	}))
	t.Cleanup(bank.Close)
	r := startECardRigWith(t, map[string]string{"CARDLEDGER_DELIVERY_ALLOW_PRIVATE": "true", "CARDLEDGER_PAYMENT_BANK_URL": bank.URL})
	p := payAPI{t: t, ctx: r.ctx, url: r.url}
	w := newPayWorld(p, r.keys["admin"])
	holder := payHolder(p, r.keys["admin"], r.keys["app"], 4)
	order := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("D-1", 800, "http://127.0.0.1:9/n"))["id"].(string)
	code := paymentCode(p, r.keys["app"], holder)
	before := eventCount(t, r)
	refused := p.must(http.StatusBadGateway, http.MethodPost, "/v1/payment/orders/"+order+"/payment", w.app, map[string]any{"payment_code": code})
	assert.Equal(t, payments.CodeBankUnavailable, refused["code"])
	assert.Equal(t, before, eventCount(t, r), "nothing recorded")
	up.Store(true)
	paid := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+order+"/payment", w.app, map[string]any{"payment_code": code})
	assert.Equal(t, "paid", paid["status"])
}
