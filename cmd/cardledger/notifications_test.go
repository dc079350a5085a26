package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/notifications"
)

// Configured by CARDLEDGER_SMS_GATEWAY_URL, serve's outbound runner hosts
// the notifier: an activation and a loss recorded over HTTP reach the SMS
// gateway simulator with their texts, and the status route counts them.
func TestServeNotifiesThroughTheConfiguredGateway(t *testing.T) {
	sim := &notifications.SMSSimulator{FailFirst: 1}
	gw := httptest.NewServer(sim)
	t.Cleanup(gw.Close)
	h := newECardHarness(t, map[string]string{"CARDLEDGER_SMS_GATEWAY_URL": gw.URL + "/messages"})
	require.Equal(t, []string{"deliveries", "notifications"}, h.b.a.deliveries.Names())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	startProjections(ctx, &wg, h.b.d, h.b.a.deliveries)
	t.Cleanup(func() { cancel(); wg.Wait() })

	st, body := h.do(http.MethodPost, "/v1/cards/"+h.card+"/loss", "counter", map[string]string{"reason": "lost on the bus"})
	require.Equal(t, http.StatusOK, st, "%s", body)
	// Wait for the loss's own position: $all's head can trail a commit
	// while an older transaction of the cluster runs, and waiting for that
	// head would end before the loss was sent.
	var loss struct {
		Position string `json:"position"`
	}
	require.NoError(t, json.Unmarshal(body, &loss))
	pos, err := eventstore.ParsePosition(loss.Position)
	require.NoError(t, err)
	require.NoError(t, h.b.a.deliveries.WaitForProjection(ctx, notifications.ProjectionName, pos))

	tail := h.card[len(h.card)-4:]
	var texts []string
	for _, m := range sim.Received() {
		assert.Equal(t, "13800000000", m.To)
		texts = append(texts, m.Text)
	}
	assert.Equal(t, []string{
		"【社会保障卡】张**，您尾号" + tail + "的社会保障卡已启用。如非本人办理，请致电12333。",
		"【社会保障卡】张**，您尾号" + tail + "的社会保障卡已正式挂失。如非本人办理，请致电12333。",
	}, texts)
	assert.Equal(t, 3, sim.Calls(), "the first call refused, then each once")

	st, body = h.do(http.MethodGet, "/v1/notifications/status", "admin", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	var status notifications.Status
	require.NoError(t, json.Unmarshal(body, &status))
	assert.True(t, status.Enabled)
	assert.Equal(t, int64(2), status.Sent)
	assert.Empty(t, status.DeadLetters)
}
