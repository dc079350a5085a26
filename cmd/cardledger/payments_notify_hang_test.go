package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
)

// A merchant's notify_url that hangs: the call is given up after the
// delivery timeout (2 s here) and retried under the same event id; the
// second call is answered, and the payment is recorded once.
func TestMerchantNotifyURLThatHangsIsRetried(t *testing.T) {
	r, p, w := startPayments(t)
	recv := newReceiver(t, func(_ deliveries.Body, try int) int {
		if try == 1 {
			return -1 // hang
		}
		return 0
	})
	holder := payHolder(p, r.keys["admin"], r.keys["app"], 1)
	o := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("H-1", 4200, recv.srv.URL))["id"].(string)
	p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+o+"/payment", w.app,
		map[string]any{"payment_code": paymentCode(p, r.keys["app"], holder)})

	poll(t, r.ctx, "the notification answered on its second call", func() bool { return len(recv.ids()) == 1 })
	got := recv.got()
	require.Len(t, got, 1)
	assert.Equal(t, domain.TypePaymentOrderPaid, got[0].body.Type)
	assert.True(t, deliveries.Verify(w.notifySecret, got[0].timestamp, got[0].eventID, got[0].raw, got[0].signature))
	recv.mu.Lock()
	assert.Equal(t, 2, recv.tries[got[0].body.EventID], "the hung call, then the answered one")
	recv.mu.Unlock()

	var paid int
	require.NoError(t, r.b.d.pool.QueryRow(r.ctx, `SELECT count(*) FROM eventstore_events WHERE stream = $1 AND type = $2`,
		domain.PaymentOrderStreamFor(o), domain.TypePaymentOrderPaid).Scan(&paid))
	assert.Equal(t, 1, paid, "paid once")
	status := p.must(http.StatusOK, http.MethodGet, "/v1/payment/merchants/"+w.merchant+"/notifications", w.app, nil)
	assert.Equal(t, []any{0.0, 0.0}, []any{status["failures"], status["dead_letters"]})
}
