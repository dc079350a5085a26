package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
)

// orderNos are the merchant_order_no of a page's orders, in order.
func orderNos(page map[string]any) []string {
	out := []string{}
	for _, o := range page["orders"].([]any) {
		out = append(out, o.(map[string]any)["merchant_order_no"].(string))
	}
	return out
}

// A merchant's orders over HTTP: newest first, filtered by status and by
// the Beijing day they were created, paged by cursor; the merchant's
// account, its apps and administrators read them, another account does not;
// bad queries are 400 invalid_query naming the parameter.
func TestMerchantOrderList(t *testing.T) {
	r, p, w := startPayments(t)
	const notify = "http://127.0.0.1:9/notify"
	holder := payHolder(p, r.keys["admin"], r.keys["app"], 1)
	var ids []string
	for _, no := range []string{"L-1", "L-2", "L-3"} {
		ids = append(ids, p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order(no, 1000, notify))["id"].(string))
	}
	p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+ids[1]+"/payment", w.app,
		map[string]any{"payment_code": paymentCode(p, r.keys["app"], holder)})
	p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+ids[2]+"/closure", w.app, map[string]any{"reason": "取消"})
	base := "/v1/payment/merchants/" + w.merchant + "/orders"

	var all map[string]any
	poll(t, r.ctx, "the read model has the three orders, one paid and one closed", func() bool {
		all = p.must(http.StatusOK, http.MethodGet, base, w.app, nil)
		if len(all["orders"].([]any)) != 3 {
			return false
		}
		o := all["orders"].([]any)
		return o[0].(map[string]any)["status"] == "closed" && o[1].(map[string]any)["status"] == "paid"
	})
	assert.Equal(t, []string{"L-3", "L-2", "L-1"}, orderNos(all))
	assert.Nil(t, all["next_cursor"], "one page")
	paid := all["orders"].([]any)[1].(map[string]any)
	assert.Equal(t, ids[1], paid["id"])
	assert.Equal(t, 1000.0, paid["paid_fen"])
	assert.NotEmpty(t, paid["bank_txn_id"])
	day := paid["created_day"].(string)

	get := func(query string, cred payCred) map[string]any {
		return p.must(http.StatusOK, http.MethodGet, base+"?"+query, cred, nil)
	}
	assert.Equal(t, []string{"L-2"}, orderNos(get("status=paid", w.app)))
	assert.Equal(t, []string{"L-1"}, orderNos(get("status=created", w.app)))
	assert.Equal(t, []string{}, orderNos(get("status=refunded", w.app)))
	assert.Equal(t, []string{"L-3", "L-2", "L-1"}, orderNos(get("day="+day, bearerCred(w.integrator))))
	assert.Equal(t, []string{}, orderNos(get("day=2001-01-01", bearerCred(r.keys["admin"]))))
	assert.Equal(t, []string{"L-2"}, orderNos(get("status=paid&day="+day, bearerCred(r.keys["admin"]))))

	// Pages of two.
	first := get("limit=2", w.app)
	assert.Equal(t, []string{"L-3", "L-2"}, orderNos(first))
	require.NotEmpty(t, first["next_cursor"])
	second := get("limit=2&cursor="+url.QueryEscape(first["next_cursor"].(string)), w.app)
	assert.Equal(t, []string{"L-1"}, orderNos(second))
	assert.Nil(t, second["next_cursor"])

	// Another account's app, or its integrator: not found.
	other := newPayWorld(p, r.keys["admin"])
	for _, cred := range []payCred{other.app, bearerCred(other.integrator)} {
		status, body := p.call(http.MethodGet, base, cred, nil)
		assert.Equal(t, []any{http.StatusNotFound, domain.CodeMerchantNotFound}, []any{status, body["code"]})
	}

	for query, field := range map[string]string{"status=paying": "status", "day=2026-13-01": "day", "day=20261205": "day",
		"limit=0": "limit", "limit=501": "limit", "limit=x": "limit", "cursor=%21%21": "cursor", "cursor=YWJj": "cursor"} {
		status, body := p.call(http.MethodGet, base+"?"+query, w.app, nil)
		require.Equal(t, http.StatusBadRequest, status, query)
		assert.Equal(t, "invalid_query", body["code"], query)
		assert.Equal(t, field, body["errors"].([]any)[0].(map[string]any)["field"], query)
	}
}

// Unbinding an app from a merchant over HTTP: the unbound app takes no more
// orders for it and reads none of its orders; the last app stays; another
// account cannot unbind.
func TestMerchantAppUnbinding(t *testing.T) {
	r, p, w := startPayments(t)
	const notify = "http://127.0.0.1:9/notify"
	app2 := p.must(http.StatusCreated, http.MethodPost, "/v1/platform/apps", bearerCred(w.integrator), map[string]any{
		"name": "药房收银二号", "type": domain.AppFinancialPayment, "channels": []string{domain.AppChannelECardQR},
		"per_minute": 100, "per_day": 1000})
	second := payCred{client: app2["client"].(string), secret: app2["secret"].(string)}
	secondID := app2["app"].(map[string]any)["id"].(string)
	base := "/v1/payment/merchants/" + w.merchant
	bound := p.must(http.StatusOK, http.MethodPost, base+"/apps", bearerCred(w.integrator), map[string]any{"app_id": secondID})
	assert.Equal(t, []any{w.appID, secondID}, bound["apps"])
	order := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", second, w.order("U-1", 100, notify))["id"].(string)

	other := newPayWorld(p, r.keys["admin"])
	status, body := p.call(http.MethodDelete, base+"/apps/"+secondID, bearerCred(other.integrator), nil)
	assert.Equal(t, []any{http.StatusNotFound, domain.CodeMerchantNotFound}, []any{status, body["code"]})

	unbound := p.must(http.StatusOK, http.MethodDelete, base+"/apps/"+secondID, bearerCred(w.integrator), nil)
	assert.Equal(t, []any{w.appID}, unbound["apps"])
	status, body = p.call(http.MethodPost, "/v1/payment/orders", second, w.order("U-2", 100, notify))
	assert.Equal(t, []any{http.StatusConflict, domain.CodeMerchantAppNotBound}, []any{status, body["code"]})
	status, body = p.call(http.MethodGet, "/v1/payment/orders/"+order, second, nil)
	assert.Equal(t, []any{http.StatusNotFound, domain.CodeOrderNotFound}, []any{status, body["code"]})
	p.must(http.StatusOK, http.MethodGet, "/v1/payment/orders/"+order, w.app, nil)

	for _, c := range []struct {
		app, code string
	}{{secondID, domain.CodeMerchantAppNotBound}, {w.appID, domain.CodeMerchantLastApp}, {"no-such-app", domain.CodeMerchantAppNotBound}} {
		status, body = p.call(http.MethodDelete, base+"/apps/"+c.app, w.app, nil)
		assert.Equal(t, []any{http.StatusConflict, c.code}, []any{status, body["code"]}, c.app)
	}
	got := p.must(http.StatusOK, http.MethodGet, base, w.app, nil)
	assert.Equal(t, []any{w.appID}, got["apps"])
	assert.Equal(t, 4.0, got["revision"], "registered, approved, bound, unbound")
}
