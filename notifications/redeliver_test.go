package notifications_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/notifications"
)

// An SMS dead-lettered while the gateway was down is redelivered by the
// administrator: refused once more (the dead letter stays, one attempt
// more), then, the gateway fixed, sent exactly once with its first id;
// redelivering it again finds nothing.
func TestDeadLetterIsRedeliveredOnceWithTheSameID(t *testing.T) {
	e := newEnv(t, 4) // the gateway refuses four calls: three by the notifier, one redelivery
	_, cardNo := e.person(7, "钱九", "13800138007", "")
	e.card(domain.HandOverCard{CardNo: cardNo, From: "vendor", To: "pt-gulou", Handler: "h1"}, cardNo)
	opts := fast
	opts.MaxAttempts = 3
	e.caughtUp(e.notifier(opts))
	require.Equal(t, []string{"card_ready sms 3 sms gateway answered 503"}, e.deadLetters())
	require.Empty(t, e.sms.Received())

	// Another server's notifier, as serve builds one per process.
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Auth: httpapi.StaticAuthenticator{"admin-key": {Client: "ops", Role: httpapi.RoleAdmin}}, Log: e.log},
		notifications.NewAPI(e.pool, true).WithRedelivery(e.projection(opts)).Routes()))
	defer srv.Close()
	call := func(method, path string) (int, []byte) {
		req, err := http.NewRequestWithContext(e.ctx, method, srv.URL+path, bytes.NewReader(nil))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer admin-key")
		res, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		return res.StatusCode, body
	}
	status, body := call(http.MethodGet, "/v1/notifications/status")
	require.Equal(t, http.StatusOK, status, string(body))
	var st notifications.Status
	require.NoError(t, json.Unmarshal(body, &st))
	require.Len(t, st.DeadLetters, 1)
	id := st.DeadLetters[0].EventID + "-0"
	path := "/v1/notifications/dead-letters/" + id + "/redelivery"

	status, body = call(http.MethodPost, path)
	require.Equal(t, http.StatusBadGateway, status, string(body))
	assert.Contains(t, string(body), `"code":"notification_redelivery_failed"`)
	assert.Equal(t, []string{"card_ready sms 4 sms gateway answered 503"}, e.deadLetters())

	status, body = call(http.MethodPost, path)
	require.Equal(t, http.StatusOK, status, string(body))
	var out notifications.Redelivered
	require.NoError(t, json.Unmarshal(body, &out))
	assert.Equal(t, notifications.Redelivered{MessageID: id, Kind: notifications.KindCardReady, Medium: notifications.SMS,
		Outcome: notifications.RedeliverySent}, out)
	assert.Equal(t, []notifications.SMSRequest{{ID: id, To: "13800138007",
		Text: "【社会保障卡】钱*，您尾号" + cardNo[len(cardNo)-4:] + "的社会保障卡已到鼓楼区社保服务中心，请携带身份证件前往领取。"}},
		e.sms.Received())
	assert.Empty(t, e.deadLetters())

	status, body = call(http.MethodPost, path)
	require.Equal(t, http.StatusNotFound, status, string(body))
	assert.Contains(t, string(body), `"code":"notification_dead_letter_not_found"`)
	status, body = call(http.MethodPost, "/v1/notifications/dead-letters/not-a-message/redelivery")
	require.Equal(t, http.StatusNotFound, status, string(body))
	assert.Len(t, e.sms.Received(), 1, "sent once")
	assert.Equal(t, 5, e.sms.Calls(), "three by the notifier, two redeliveries")
}

// A server without media refuses instead of pretending.
func TestRedeliveryWithoutANotifierIsRefused(t *testing.T) {
	e := newEnv(t, 0)
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Auth: httpapi.StaticAuthenticator{"admin-key": {Client: "ops", Role: httpapi.RoleAdmin}}, Log: e.log},
		notifications.NewAPI(e.pool, false).Routes()))
	defer srv.Close()
	req, err := http.NewRequestWithContext(e.ctx, http.MethodPost,
		srv.URL+"/v1/notifications/dead-letters/0b5e5d0a-4b0e-5c4e-9a57-2a1f3c4d5e6f-0/redelivery", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer admin-key")
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	assert.Equal(t, http.StatusConflict, res.StatusCode)
}
