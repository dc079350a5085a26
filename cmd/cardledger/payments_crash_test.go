package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// The server is SIGKILLed after it recorded a payment and before the
// merchant acknowledged the notification. After a restart the payment is
// recorded once (paying again is order_already_paid) and the merchant is
// notified at least once, every call under the same event id.
func TestPaymentSurvivesAKilledServer(t *testing.T) {
	if os.Getenv(envCrashServer) != "" {
		t.Skip("child process")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dbURL := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL, "CARDLEDGER_LOG_LEVEL": "warn"}
	require.Equal(t, 0, run(ctx, &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }},
		[]string{"migrate"}))
	pool := testpg.NewPool(t, dbURL)
	admin, err := auth.Add(ctx, pool, auth.Client{Name: "crash-admin", Role: httpapi.RoleAdmin})
	require.NoError(t, err)
	channel, err := auth.Add(ctx, pool, auth.Client{Name: "crash-channel", Role: httpapi.RoleChannel, Channel: "rsapp"})
	require.NoError(t, err)

	// The merchant's receiver is down until the restart.
	var up atomic.Bool
	recv := newReceiver(t, func(deliveries.Body, int) int {
		if up.Load() {
			return 0
		}
		return http.StatusServiceUnavailable
	})
	sender := startSender(t, ctx, dbURL, "payment-server-1")
	p := payAPI{t: t, ctx: ctx, url: sender.url}
	w := newPayWorld(p, admin)
	holder := payHolder(p, admin, channel, 3)
	order := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/orders", w.app, w.order("K-1", 4200, recv.srv.URL))["id"].(string)
	paid := p.must(http.StatusOK, http.MethodPost, "/v1/payment/orders/"+order+"/payment", w.app,
		map[string]any{"payment_code": paymentCode(p, channel, holder)})
	require.Equal(t, "paid", paid["status"])
	poll(t, ctx, "a notification call failed", func() bool {
		recv.mu.Lock()
		defer recv.mu.Unlock()
		return len(recv.tries) > 0
	})
	require.NoError(t, sender.cmd.Process.Signal(syscall.SIGKILL))
	<-sender.done
	require.Empty(t, recv.ids(), "killed before the merchant acknowledged")

	up.Store(true)
	restarted := startSender(t, ctx, dbURL, "payment-server-2")
	p.url = restarted.url
	poll(t, ctx, "the merchant notified", func() bool { return len(recv.ids()) == 1 })
	again := p.must(http.StatusConflict, http.MethodPost, "/v1/payment/orders/"+order+"/payment", w.app,
		map[string]any{"payment_code": paymentCode(p, channel, holder)})
	assert.Equal(t, domain.CodeOrderAlreadyPaid, again["code"])

	var paidEvents int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM eventstore_events WHERE stream = $1 AND type = $2`,
		domain.PaymentOrderStreamFor(order), domain.TypePaymentOrderPaid).Scan(&paidEvents))
	assert.Equal(t, 1, paidEvents, "the payment is recorded once")
	got := recv.got()
	require.NotEmpty(t, got)
	assert.Equal(t, domain.TypePaymentOrderPaid, got[0].body.Type)
	for _, c := range got {
		assert.Equal(t, got[0].body.EventID, c.body.EventID, "one notification, maybe repeated, under one id")
		assert.True(t, deliveries.Verify(w.notifySecret, c.timestamp, c.eventID, c.raw, c.signature))
	}
	st := p.must(http.StatusOK, http.MethodGet, "/v1/payment/merchants/"+w.merchant+"/notifications", w.app, nil)
	assert.Equal(t, []any{float64(0), float64(0)}, []any{st["dead_letters"], st["failures"]})
}
