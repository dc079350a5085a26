package notifications_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/notifications"
)

var fast = notifications.Options{Backoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}

// Every kind of message reaches the SMTP server and the SMS gateway with
// exactly the text docs/notifications.md gives: masked name, card number's
// last four digits, pick-up point; nothing else about the person.
func TestEachMessageTypeIsDeliveredWithExactContent(t *testing.T) {
	e := newEnv(t, 0)
	_, cardNo := e.person(1, "张三丰", "13800138001", "zsf@mail.example.cn")
	tail := cardNo[len(cardNo)-4:]
	e.card(domain.HandOverCard{CardNo: cardNo, From: "vendor", To: "town-1", Handler: "h1"}, cardNo)
	e.card(domain.HandOverCard{CardNo: cardNo, From: "town-1", To: "pt-gulou", Handler: "h2"}, cardNo)
	e.card(domain.IssueCard{CardNo: cardNo, On: time.Now(), Agency: "pt-gulou"}, cardNo)
	e.card(domain.ActivateCard{CardNo: cardNo}, cardNo)
	e.card(domain.ReportTemporaryLoss{CardNo: cardNo}, cardNo)
	e.card(domain.UnlockCard{CardNo: cardNo}, cardNo)
	e.card(domain.ReportLoss{CardNo: cardNo}, cardNo)
	e.batchFailure("B2026120501", domain.BatchJobProgressed{Job: 2, Done: 3, Failures: []domain.JobFailure{
		{Job: 2, Member: 0, Code: "card_not_produced", Reason: "card A1 is not produced"},
		{Job: 2, Member: 2, Code: "already_erased", Reason: "erased"}}})

	e.caughtUp(e.notifier(fast))

	ready := "张**，您尾号" + tail + "的社会保障卡已到鼓楼区社保服务中心，请携带身份证件前往领取。"
	activated := "张**，您尾号" + tail + "的社会保障卡已启用。如非本人办理，请致电12333。"
	tempLost := "张**，您尾号" + tail + "的社会保障卡已临时挂失。如非本人办理，请致电12333。"
	lost := "张**，您尾号" + tail + "的社会保障卡已正式挂失。如非本人办理，请致电12333。"
	var sms []string
	for _, m := range e.sms.Received() {
		assert.Equal(t, "13800138001", m.To)
		sms = append(sms, m.Text)
	}
	assert.Equal(t, []string{"【社会保障卡】" + ready, "【社会保障卡】" + activated, "【社会保障卡】" + tempLost, "【社会保障卡】" + lost}, sms)

	type mail struct{ From, To, Subject, Body, Kind, Date string }
	var got []mail
	for _, m := range e.box.messages() {
		got = append(got, mail{m.From, m.To, m.Subject, m.Body, m.Header.Get("X-Cardledger-Kind"), m.Header.Get("Date")})
		assert.Regexp(t, `^<[0-9a-f-]{36}-[01]@cardledger>$`, m.Header.Get("Message-ID"))
	}
	date := "Sat, 05 Dec 2026 08:00:00 +0000"
	from, to := "noreply@card.example.cn", "zsf@mail.example.cn"
	assert.Equal(t, []mail{
		{from, to, "社会保障卡待领取通知", ready, "card_ready", date},
		{from, to, "社会保障卡启用通知", activated, "card_activated", date},
		{from, to, "社会保障卡挂失确认", tempLost, "card_lost", date},
		{from, to, "社会保障卡挂失确认", lost, "card_lost", date},
		{from, operatorMailbox, "[cardledger] batch B2026120501 job 2: 2 item(s) need action",
			"Batch B2026120501, job 2: 2 item(s) refused by their cardholder streams; they need action " +
				"(GET /v1/batches/B2026120501, then POST /v1/batches/B2026120501/jobs/2/retry or release).\n\n" +
				"member 0: card_not_produced\nmember 2: already_erased\n", "batch_failed", date},
	}, got)
	texts := sms
	for _, m := range got {
		texts = append(texts, m.Subject, m.Body)
	}
	for _, m := range texts {
		assert.NotContains(t, m, "张三丰")
		assert.NotContains(t, m, idNumber(1))
	}
}

// batchFailure appends a batch job's progress with refused items, as the
// batch process manager records it.
func (e *env) batchFailure(batchID string, ev domain.BatchJobProgressed) {
	e.t.Helper()
	stream := domain.BatchStreamFor(batchID)
	data, err := commands.EncodeEvents(domain.EncodeBatchEvent, e.envelope(), stream, time.Now().UTC(), []domain.Event{ev})
	require.NoError(e.t, err)
	_, err = e.store.Append(e.ctx, stream, eventstore.Any(), data)
	require.NoError(e.t, err)
}

// The holder's opt-out, set at the counter or by their channel, is an
// event of their stream; the notifier reads it when it sends.
func TestOptOutIsHonoured(t *testing.T) {
	e := newEnv(t, 0)
	id, cardNo := e.person(2, "李四", "13800138002", "lisi@mail.example.cn")
	e.card(domain.HandOverCard{CardNo: cardNo, From: "vendor", To: "pt-gulou", Handler: "h1"}, cardNo)
	e.card(domain.IssueCard{CardNo: cardNo, On: time.Now(), Agency: "pt-gulou"}, cardNo)
	e.holder(domain.SetNotificationPreferences{SMSOptOut: true}, id)
	e.card(domain.ActivateCard{CardNo: cardNo}, cardNo)
	r := e.notifier(fast)
	e.caughtUp(r)
	assert.Empty(t, e.sms.Received(), "SMS refused before the notifier sent anything: none at all")
	assert.Equal(t, []string{"card_ready", "card_activated"}, kinds(e.box.messages()))

	e.holder(domain.SetNotificationPreferences{EmailOptOut: true}, id)
	e.card(domain.ReportLoss{CardNo: cardNo}, cardNo)
	e.caughtUp(r)
	require.Len(t, e.sms.Received(), 1)
	assert.Contains(t, e.sms.Received()[0].Text, "已正式挂失")
	assert.Len(t, e.box.messages(), 2, "no e-mail after the e-mail opt-out")

	e.holder(domain.SetNotificationPreferences{SMSOptOut: true, EmailOptOut: true}, id)
	e.card(domain.UnlockCard{CardNo: cardNo}, cardNo)
	e.card(domain.ReportTemporaryLoss{CardNo: cardNo}, cardNo)
	e.caughtUp(r)
	assert.Len(t, e.sms.Received(), 1)
	assert.Len(t, e.box.messages(), 2)
}

func kinds(ms []received) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Header.Get("X-Cardledger-Kind"))
	}
	return out
}

// A gateway failing N times: the message is sent again after a pause
// until it is accepted, exactly once; one that never accepts is
// dead-lettered and the next message goes out.
func TestGatewayFailingIsRetriedThenDelivered(t *testing.T) {
	e := newEnv(t, 3)
	_, cardNo := e.person(3, "王五", "13800138003", "")
	e.card(domain.HandOverCard{CardNo: cardNo, From: "vendor", To: "pt-gulou", Handler: "h1"}, cardNo)
	r := e.notifier(fast)
	e.caughtUp(r)
	require.Len(t, e.sms.Received(), 1)
	assert.Equal(t, 4, e.sms.Calls(), "three refusals, then accepted once")
	assert.Contains(t, e.sms.Received()[0].Text, "已到鼓楼区社保服务中心")
	assert.Empty(t, e.deadLetters())
}

func TestGatewayThatNeverAcceptsDeadLettersAndGoesOn(t *testing.T) {
	e := newEnv(t, 1000)
	holder, cardNo := e.person(4, "赵六", "13800138004", "zhao@mail.example.cn")
	e.card(domain.HandOverCard{CardNo: cardNo, From: "vendor", To: "pt-gulou", Handler: "h1"}, cardNo)
	opts := fast
	opts.MaxAttempts = 3
	reg := prometheus.NewRegistry()
	m, err := notifications.NewMetrics(reg)
	require.NoError(t, err)
	opts.Metrics = m
	e.caughtUp(e.notifier(opts))
	assert.Equal(t, 3, e.sms.Calls())
	// /metrics: two failed SMS sends, the third dead-lettered; the e-mail sent.
	assert.NoError(t, testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP cardledger_notifications_total Notification sends by medium (sms, email), kind and outcome (sent, failed: tried again, dead_lettered).
# TYPE cardledger_notifications_total counter
cardledger_notifications_total{kind="card_ready",medium="email",outcome="sent"} 1
cardledger_notifications_total{kind="card_ready",medium="sms",outcome="dead_lettered"} 1
cardledger_notifications_total{kind="card_ready",medium="sms",outcome="failed"} 2
`)))
	assert.Equal(t, []string{"card_ready"}, kinds(e.box.messages()), "the e-mail after the dead SMS went out")
	dl := e.deadLetters()
	require.Len(t, dl, 1)
	assert.Equal(t, "card_ready sms 3 sms gateway answered 503", dl[0])

	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Auth: httpapi.StaticAuthenticator{"admin-key": {Client: "ops", Role: httpapi.RoleAdmin}}, Log: e.log},
		notifications.NewAPI(e.pool, true).Routes()))
	defer srv.Close()
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, srv.URL+"/v1/notifications/status", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer admin-key")
	res, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var st notifications.Status
	require.NoError(t, json.NewDecoder(res.Body).Decode(&st))
	assert.True(t, st.Enabled)
	assert.Equal(t, int64(1), st.Sent, "the e-mail")
	require.Len(t, st.DeadLetters, 1)
	assert.Equal(t, notifications.DeadLetterView{EventID: st.DeadLetters[0].EventID, Index: 0, Position: st.DeadLetters[0].Position,
		Stream: domain.StreamFor(holder), Kind: "card_ready", Medium: notifications.SMS, Attempts: 3,
		LastError: "sms gateway answered 503", At: st.DeadLetters[0].At}, st.DeadLetters[0])
}

func (e *env) deadLetters() []string {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT kind || ' ' || medium || ' ' || attempts || ' ' || last_error FROM notifications.dead_letters`)
	require.NoError(e.t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(e.t, err)
	return out
}

// Erasure: a holder erased before the notifier got to their events gets
// nothing, then or later, and no table of the notifier holds their data.
func TestErasedHolderIsNotNotified(t *testing.T) {
	e := newEnv(t, 0)
	id, cardNo := e.person(5, "孙七", "13800138005", "sunqi@mail.example.cn")
	e.card(domain.HandOverCard{CardNo: cardNo, From: "vendor", To: "pt-gulou", Handler: "h1"}, cardNo)
	e.card(domain.IssueCard{CardNo: cardNo, On: time.Now(), Agency: "pt-gulou"}, cardNo)
	e.card(domain.ActivateCard{CardNo: cardNo}, cardNo)
	e.holder(domain.EraseCardholder{}, id)
	_, other := e.person(6, "周八", "13800138006", "")
	e.card(domain.HandOverCard{CardNo: other, From: "vendor", To: "pt-gulou", Handler: "h1"}, other)
	r := e.notifier(fast)
	e.caughtUp(r)
	e.card(domain.ReportLoss{CardNo: cardNo}, cardNo)
	e.caughtUp(r)

	assert.Empty(t, e.box.messages())
	sms := e.sms.Received()
	require.Len(t, sms, 1, "only the other holder's card ready")
	assert.Equal(t, "13800138006", sms[0].To)
	for _, m := range sms {
		for _, s := range []string{"13800138005", "sunqi@", "孙", idNumber(5)} {
			assert.NotContains(t, m.To+m.Text, s)
		}
	}
	var dump string
	require.NoError(t, e.pool.QueryRow(e.ctx, `SELECT coalesce(string_agg(t::text, ' '), '') FROM (
		SELECT row_to_json(c)::text AS t FROM notifications.checkpoint c
		UNION ALL SELECT row_to_json(d)::text FROM notifications.dead_letters d) x`).Scan(&dump))
	for _, s := range []string{"13800138005", "sunqi", "孙七"} {
		assert.False(t, strings.Contains(dump, s), s)
	}
}

// Turning notifications on for a ledger with a history does not notify
// that history: the notifier starts at the log's head of that moment.
func TestTurningOnDoesNotNotifyThePast(t *testing.T) {
	e := newEnv(t, 0)
	_, cardNo := e.person(7, "吴九", "13800138007", "")
	e.card(domain.HandOverCard{CardNo: cardNo, From: "vendor", To: "pt-gulou", Handler: "h1"}, cardNo)
	_, err := e.pool.Exec(e.ctx, `DELETE FROM notifications.checkpoint`)
	require.NoError(t, err)
	head, _, err := e.store.Head(e.ctx)
	require.NoError(t, err)
	require.NoError(t, notifications.Migrate(e.ctx, e.pool, head.Position))
	require.NoError(t, notifications.Migrate(e.ctx, e.pool, eventstore.Start), "a second migration keeps the checkpoint")
	r := e.notifier(fast)
	e.card(domain.IssueCard{CardNo: cardNo, On: time.Now(), Agency: "pt-gulou"}, cardNo)
	e.card(domain.ActivateCard{CardNo: cardNo}, cardNo)
	e.caughtUp(r)
	require.Len(t, e.sms.Received(), 1)
	assert.Contains(t, e.sms.Received()[0].Text, "已启用")
}
