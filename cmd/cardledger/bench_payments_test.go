package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
)

// BenchmarkPaymentOrders: b.N orders created and paid over HTTP on the
// real server (as serve wires it, the built-in bank simulator behind the
// bank port), 16 in flight, each worker one financial-payment app bound to
// the merchant (HMAC-signed requests, quotas counted). One order is three
// requests: the app creates it (POST /v1/payment/orders), the channel
// makes the holder's payment code (POST /v1/ecard/payment-codes), the app
// pays with it (POST /v1/payment/orders/{id}/payment: order lock, code
// check and claim, holder's stream, bank call, append). Notifications are
// not sent (no delivery runner): the figure is the write path. Reported:
// orders/s, and the latency of one whole order.
//
//	go test ./cmd/cardledger -run '^$' -bench PaymentOrders -benchtime 1000x
func BenchmarkPaymentOrders(b *testing.B) {
	h, holders := benchECardHarness(b)
	p := payAPI{t: b, ctx: context.Background(), url: h.b.srv.URL}
	w := newPayWorld(p, h.keys["admin"])
	apps := []payCred{w.app}
	for len(apps) < benchWorkers {
		app := p.must(http.StatusCreated, http.MethodPost, "/v1/platform/apps", bearerCred(w.integrator), map[string]any{
			"name": fmt.Sprintf("收银台%d", len(apps)), "type": domain.AppFinancialPayment, "channels": []string{domain.AppChannelECardQR},
			"per_minute": domain.MaxAppPerMinute, "per_day": domain.MaxAppPerDay})
		p.must(http.StatusOK, http.MethodPost, "/v1/payment/merchants/"+w.merchant+"/apps", bearerCred(w.integrator),
			map[string]any{"app_id": app["app"].(map[string]any)["id"]})
		apps = append(apps, payCred{client: app["client"].(string), secret: app["secret"].(string)})
	}
	b.ResetTimer()
	start := time.Now()
	lat, err := benchRun(b.N, func(wk, i int) error {
		status, order := p.call(http.MethodPost, "/v1/payment/orders", apps[wk], w.order(fmt.Sprintf("BENCH-%d", i), 1000+int64(i%40), "https://203.0.113.10/notify"))
		if status != http.StatusCreated {
			return fmt.Errorf("create: %d %v", status, order)
		}
		status, code := p.call(http.MethodPost, "/v1/ecard/payment-codes", bearerCred(h.keys["rsapp"]), map[string]any{"cardholder_id": holders[i%len(holders)]})
		if status != http.StatusCreated {
			return fmt.Errorf("code: %d %v", status, code)
		}
		status, paid := p.call(http.MethodPost, "/v1/payment/orders/"+order["id"].(string)+"/payment", apps[wk], map[string]any{"payment_code": code["code"]})
		if status != http.StatusOK || paid["status"] != "paid" {
			return fmt.Errorf("pay: %d %v", status, paid)
		}
		return nil
	})
	elapsed := time.Since(start)
	b.StopTimer()
	require.NoError(b, err)
	reportLatency(b, lat, elapsed, "orders")
	reportBaseline(b, h)
}
