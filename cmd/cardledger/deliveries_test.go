package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/projections"
)

// received is one call a test receiver got.
type received struct {
	body      deliveries.Body
	signature string
	timestamp string
	eventID   string
	raw       []byte
}

// receiver records every call; fail decides each call's answer (0: 200;
// -1: hang until the caller gives up).
type receiver struct {
	mu    sync.Mutex
	calls []received
	tries map[string]int // calls per event id
	fail  func(b deliveries.Body, try int) int
	srv   *httptest.Server
}

func newReceiver(t testing.TB, fail func(b deliveries.Body, try int) int) *receiver {
	r := &receiver{tries: map[string]int{}, fail: fail}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		var b deliveries.Body
		if err := json.Unmarshal(raw, &b); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.tries[b.EventID]++
		try := r.tries[b.EventID]
		status := 0
		if r.fail != nil {
			status = r.fail(b, try)
		}
		if status == 0 {
			r.calls = append(r.calls, received{body: b, raw: raw, signature: req.Header.Get(deliveries.HeaderSignature),
				timestamp: req.Header.Get(deliveries.HeaderTimestamp), eventID: req.Header.Get(deliveries.HeaderEventID)})
		}
		r.mu.Unlock()
		switch status {
		case 0:
			w.WriteHeader(http.StatusOK)
		case -1:
			<-req.Context().Done() // hang
		default:
			w.WriteHeader(status)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// ids are the distinct event ids accepted, in first-arrival order.
func (r *receiver) ids() []string {
	var out []string
	for _, c := range r.got() {
		if !slices.Contains(out, c.body.EventID) {
			out = append(out, c.body.EventID)
		}
	}
	return out
}

// startDeliveries runs the delivery projection with a short retry schedule.
func startDeliveries(t testing.TB, b *booted, opts deliveries.Options) {
	runDeliveries(t, b.d.store, b.d.pool, b.a.deliveryKeys, opts)
}

// runDeliveries is startDeliveries with the secrets opened with keys; stop
// (idempotent, also run by cleanup) returns once the projection stopped.
func runDeliveries(t testing.TB, store eventstore.Store, pool *pgxpool.Pool, keys *auth.SecretKeys, opts deliveries.Options) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	opts.AllowPrivate = true
	r := projections.NewRunner(store, pool, nil).WithOptions(projections.Options{Retry: 50 * time.Millisecond}).
		Add(deliveries.NewProjection(store, pool, keys, opts, nil))
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(ctx) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// issueAt registers a holder and issues a card at bank.
func (h *ecardHarness) issueAt(idNo, name, bank string) (holder, card string) {
	h.t.Helper()
	st, body := h.do(http.MethodPost, "/v1/cardholders", "admin", map[string]string{
		"id_number": idNo, "name": name, "sex": string(domain.SexOf(idNo)), "nationality": "CHN", "region_code": ecardHolderRegion,
		"phone": "13800000000", "employer_code": "E001", "community_code": "C001"})
	require.Equal(h.t, http.StatusCreated, st, "%s", body)
	var res struct {
		CardholderID string `json:"cardholder_id"`
		CardNo       string `json:"card_no"`
	}
	require.NoError(h.t, json.Unmarshal(body, &res))
	st, body = h.do(http.MethodPost, "/v1/cardholders/"+res.CardholderID+"/instant-issuance", "admin",
		map[string]string{"bank_code": bank, "account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	require.Equal(h.t, http.StatusOK, st, "%s", body)
	require.NoError(h.t, json.Unmarshal(body, &res))
	return res.CardholderID, res.CardNo
}

func idNumber(seq string) string {
	first17 := "32050619800101" + seq
	return first17 + string(domain.IDCheckChar(first17))
}

func (h *ecardHarness) subscribe(client string, body map[string]any) deliveries.Created {
	h.t.Helper()
	st, raw := h.do(http.MethodPost, "/v1/subscriptions", client, body)
	require.Equal(h.t, http.StatusCreated, st, "%s", raw)
	var c deliveries.Created
	require.NoError(h.t, json.Unmarshal(raw, &c))
	return c
}

// storedEvents are the events of the given types in streams, stream by
// stream in revision order. Streams, not $all: the PostgreSQL store's $all
// shows a commit only once older transactions of the cluster (other tests)
// have ended, a stream read at once. Every event of these streams came
// after the subscriptions were made.
func storedEvents(t testing.TB, b *booted, streams []string, types []string) []eventstore.RecordedEvent {
	var out []eventstore.RecordedEvent
	for _, s := range streams {
		evs, err := b.d.store.ReadStream(context.Background(), s, 0, 0)
		require.NoError(t, err)
		for _, e := range evs {
			if slices.Contains(types, e.Type) {
				out = append(out, e)
			}
		}
	}
	return out
}

// inStream keeps the ids of ids that are of stream's events, in order.
func inStream(ids []string, evs []eventstore.RecordedEvent, stream string) []string {
	var out []string
	for _, id := range ids {
		for _, e := range evs {
			if e.ID.String() == id && e.Stream == stream {
				out = append(out, id)
			}
		}
	}
	return out
}

func eventIDs(evs []eventstore.RecordedEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.ID.String()
	}
	return out
}

// A bank's subscription gets exactly the subscribed events of its own
// bank's cards, signed, in order, through a receiver that fails every
// first call; the province's gets both banks' through one that hangs on
// first calls; a receiver answering 500 to one type dead-letters those
// events and keeps delivering the rest; redelivery repeats events under
// the same ids.
func TestDeliveriesToBanksAndTheProvince(t *testing.T) {
	h := newECardHarness(t, map[string]string{"CARDLEDGER_DELIVERY_ALLOW_PRIVATE": "true"})
	ctx := context.Background()
	for _, c := range []auth.Client{
		{Name: "bank-102", Role: httpapi.RoleBank, Bank: "102"},
		{Name: "bank-103", Role: httpapi.RoleBank, Bank: "103"},
	} {
		key, err := auth.Add(ctx, h.b.d.pool, c)
		require.NoError(t, err)
		h.keys[c.Name] = key
	}
	bankTypes := []string{"CardIssued", "CardActivated", "CardReportedLost", "CardTemporarilyLost", "CardUnlocked", "CardCancelled"}
	flaky := newReceiver(t, func(_ deliveries.Body, try int) int {
		if try == 1 {
			return http.StatusServiceUnavailable
		}
		return 0
	})
	hanging := newReceiver(t, func(_ deliveries.Body, try int) int {
		if try == 1 {
			return -1
		}
		return 0
	})
	refusing := newReceiver(t, func(b deliveries.Body, _ int) int {
		if b.Type == "CardActivated" {
			return http.StatusInternalServerError
		}
		return 0
	})
	bank102 := h.subscribe("bank-102", map[string]any{"url": flaky.srv.URL + "/events", "event_types": bankTypes})
	assert.Equal(t, "102", bank102.Bank, "the bank scope applies by itself")
	assert.Len(t, bank102.Secret, 64)
	// A bank client cannot subscribe to another bank's cards.
	st, raw := h.do(http.MethodPost, "/v1/subscriptions", "bank-102",
		map[string]any{"url": flaky.srv.URL, "event_types": bankTypes, "bank": "103"})
	require.Equal(t, http.StatusForbidden, st, "%s", raw)
	assert.Contains(t, string(raw), `"scope_bank"`)
	province := h.subscribe("admin", map[string]any{"url": hanging.srv.URL, "event_types": deliveries.Deliverable, "region": "320000"})
	assert.Equal(t, "", province.Bank)
	bank103 := h.subscribe("bank-103", map[string]any{"url": refusing.srv.URL, "event_types": bankTypes})

	holderA, cardA := h.issueAt(idNumber("001"), "李四", "102")
	holderB, cardB := h.issueAt(idNumber("002"), "王五", "103")
	for _, c := range []string{cardA, cardB} {
		st, raw := h.do(http.MethodPost, "/v1/cards/"+c+"/loss", "admin", map[string]string{"reason": "lost on the bus"})
		require.Equal(t, http.StatusOK, st, "%s", raw)
	}
	streamA, streamB := domain.StreamFor(holderA), domain.StreamFor(holderB)
	startDeliveries(t, h.b, deliveries.Options{MaxAttempts: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		Timeout: 300 * time.Millisecond, Metrics: h.b.a.deliveryMetrics})

	wantA := storedEvents(t, h.b, []string{streamA}, bankTypes)
	require.NotEmpty(t, wantA)
	wantProvince := storedEvents(t, h.b, []string{streamA, streamB}, deliveries.Deliverable)
	wantB := storedEvents(t, h.b, []string{streamB}, bankTypes)
	require.Eventually(t, func() bool {
		return len(flaky.ids()) >= len(wantA) && len(hanging.ids()) >= len(wantProvince)
	}, 30*time.Second, 20*time.Millisecond)
	assert.Equal(t, eventIDs(wantA), flaky.ids(), "bank 102 gets its own card's subscribed events, in order, nothing else")
	assert.ElementsMatch(t, eventIDs(wantProvince), hanging.ids(), "the province gets every bank's")
	for _, stream := range []string{streamA, streamB} {
		assert.Equal(t, inStream(eventIDs(wantProvince), wantProvince, stream), inStream(hanging.ids(), wantProvince, stream),
			"the province's in order per card")
	}
	for _, c := range flaky.got() {
		assert.True(t, deliveries.Verify(bank102.Secret, c.timestamp, c.eventID, c.raw, c.signature), "signature of %s", c.eventID)
		assert.Equal(t, streamA, c.body.Stream)
	}

	// Bank 103's receiver refuses CardActivated: dead-lettered after three
	// calls, the events after it still delivered.
	var activated []string
	var rest []string
	for _, e := range wantB {
		if e.Type == "CardActivated" {
			activated = append(activated, e.ID.String())
		} else {
			rest = append(rest, e.ID.String())
		}
	}
	require.NotEmpty(t, activated)
	require.Eventually(t, func() bool { return len(refusing.ids()) >= len(rest) }, 30*time.Second, 20*time.Millisecond)
	assert.Equal(t, rest, refusing.ids())
	var dead deliveries.DeadLetters
	require.Eventually(t, func() bool {
		st, raw := h.do(http.MethodGet, "/v1/subscriptions/"+bank103.ID+"/dead-letters", "bank-103", nil)
		require.Equal(t, http.StatusOK, st, "%s", raw)
		require.NoError(t, json.Unmarshal(raw, &dead))
		return len(dead.DeadLetters) == len(activated)
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, activated[0], dead.DeadLetters[0].EventID)
	assert.Equal(t, 3, dead.DeadLetters[0].Attempts)
	var status deliveries.Status
	st, raw = h.do(http.MethodGet, "/v1/subscriptions/"+bank103.ID, "bank-103", nil)
	require.Equal(t, http.StatusOK, st, "%s", raw)
	require.NoError(t, json.Unmarshal(raw, &status))
	assert.Equal(t, len(activated), status.DeadLetters)
	assert.Equal(t, int64(len(rest)), status.Delivered)
	assert.Equal(t, 0, status.Pending)
	// Another bank sees no such subscription.
	st, _ = h.do(http.MethodGet, "/v1/subscriptions/"+bank103.ID, "bank-102", nil)
	assert.Equal(t, http.StatusNotFound, st)

	// /metrics counts the calls per subscription: bank 102's receiver
	// failed each first call, bank 103's three calls of each CardActivated
	// (two failed, the third dead-lettered), the province's hung first
	// calls; nothing is in flight now.
	m := gathered(t, h.b.a.metrics)
	for _, c := range []struct {
		sub                     string
		delivered, failed, dead int
	}{
		{bank102.ID, len(wantA), len(wantA), 0},
		{bank103.ID, len(rest), 2 * len(activated), len(activated)},
		{province.ID, len(wantProvince), len(wantProvince), 0},
	} {
		assert.Equal(t, float64(c.delivered), m.value(t, "cardledger_deliveries_total", "subscription", c.sub, "outcome", "delivered"), c.sub)
		assert.Equal(t, float64(c.failed), m.value(t, "cardledger_deliveries_total", "subscription", c.sub, "outcome", "failed"), c.sub)
		assert.Equal(t, float64(c.dead), m.value(t, "cardledger_deliveries_total", "subscription", c.sub, "outcome", "dead_lettered"), c.sub)
		assert.Equal(t, 0.0, m.value(t, "cardledger_delivery_lag_seconds", "subscription", c.sub), c.sub)
	}

	// Redelivery from the subscription's start: the same events again,
	// under the same ids (the receiver answers 200 twice).
	before := len(flaky.got())
	st, raw = h.do(http.MethodPost, "/v1/subscriptions/"+bank102.ID+"/redelivery", "bank-102",
		map[string]string{"from_position": bank102.Position})
	require.Equal(t, http.StatusAccepted, st, "%s", raw)
	h.issueAt(idNumber("003"), "赵六", "104") // delivery resumes with the next event
	require.Eventually(t, func() bool { return len(flaky.got()) >= before+len(wantA) }, 30*time.Second, 20*time.Millisecond)
	var again []string
	for _, c := range flaky.got()[before:] {
		again = append(again, c.body.EventID)
	}
	assert.Equal(t, eventIDs(wantA), again)

	// The bank replaces its secret: another bank cannot; deliveries from
	// then on are signed with the new secret, never the old one.
	st, _ = h.do(http.MethodPost, "/v1/subscriptions/"+bank102.ID+"/secret", "bank-103", nil)
	assert.Equal(t, http.StatusNotFound, st)
	st, raw = h.do(http.MethodPost, "/v1/subscriptions/"+bank102.ID+"/secret", "bank-102", nil)
	require.Equal(t, http.StatusOK, st, "%s", raw)
	var rotated deliveries.Created
	require.NoError(t, json.Unmarshal(raw, &rotated))
	require.Len(t, rotated.Secret, 64)
	require.NotEqual(t, bank102.Secret, rotated.Secret)
	assert.Equal(t, bank102.ID, rotated.ID)
	before = len(flaky.got())
	st, raw = h.do(http.MethodPost, "/v1/subscriptions/"+bank102.ID+"/redelivery", "bank-102",
		map[string]string{"from_position": bank102.Position})
	require.Equal(t, http.StatusAccepted, st, "%s", raw)
	h.issueAt(idNumber("004"), "钱七", "104")
	require.Eventually(t, func() bool { return len(flaky.got()) >= before+len(wantA) }, 30*time.Second, 20*time.Millisecond)
	for _, c := range flaky.got()[before:] {
		assert.True(t, deliveries.Verify(rotated.Secret, c.timestamp, c.eventID, c.raw, c.signature), "new secret signs %s", c.eventID)
		assert.False(t, deliveries.Verify(bank102.Secret, c.timestamp, c.eventID, c.raw, c.signature), "old secret signs %s", c.eventID)
	}
}

// Receiver URLs on loopback or private addresses are refused unless
// CARDLEDGER_DELIVERY_ALLOW_PRIVATE=true.
func TestSubscriptionRefusesPrivateReceivers(t *testing.T) {
	h := newECardHarness(t, nil)
	for _, u := range []string{"http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest",
		"http://192.168.0.1/", "http://localhost:8080/"} {
		st, raw := h.do(http.MethodPost, "/v1/subscriptions", "admin", map[string]any{"url": u, "event_types": []string{"CardIssued"}})
		assert.Equal(t, http.StatusUnprocessableEntity, st, "%s: %s", u, raw)
		assert.Contains(t, string(raw), `"receiver_not_public"`, u)
	}
	st, raw := h.do(http.MethodPost, "/v1/subscriptions", "admin", map[string]any{"url": "ftp://example.com/", "event_types": []string{"CardIssued"}})
	assert.Equal(t, http.StatusBadRequest, st, "%s", raw)
	st, raw = h.do(http.MethodPost, "/v1/subscriptions", "admin", map[string]any{"url": "https://203.0.113.9/", "event_types": []string{"NoSuchEvent"}})
	assert.Equal(t, http.StatusBadRequest, st, "%s", raw)
	assert.Contains(t, string(raw), `"invalid_value"`)
	n := 0
	require.NoError(t, h.b.d.pool.QueryRow(context.Background(), `SELECT count(*) FROM deliveries.subscriptions`).Scan(&n))
	assert.Zero(t, n, "nothing stored")
}

// Each party gets the personal data its records need (docs/deliveries.md,
// Personal data): a bank no registration (it cannot subscribe to one, and a
// subscription stored with one still gets none), its own card's application
// with the holder's identity for the account; the province the
// registrations' identity without the phone; nobody a photo reference.
func TestDeliveriesCarryOnlyThePersonalDataEachPartyNeeds(t *testing.T) {
	h := newECardHarness(t, map[string]string{"CARDLEDGER_DELIVERY_ALLOW_PRIVATE": "true"})
	ctx := context.Background()
	key, err := auth.Add(ctx, h.b.d.pool, auth.Client{Name: "bank-102", Role: httpapi.RoleBank, Bank: "102"})
	require.NoError(t, err)
	h.keys["bank-102"] = key
	bankRecv, provRecv := newReceiver(t, nil), newReceiver(t, nil)
	for _, c := range []struct {
		client string
		body   map[string]any
	}{
		{"bank-102", map[string]any{"url": bankRecv.srv.URL, "event_types": []string{"CardApplied", "CardholderRegistered"}}},
		{"admin", map[string]any{"url": bankRecv.srv.URL, "event_types": []string{"CardholderRegistered"}, "bank": "102"}},
	} {
		st, raw := h.do(http.MethodPost, "/v1/subscriptions", c.client, c.body)
		require.Equal(t, http.StatusBadRequest, st, "%s: %s", c.client, raw)
		assert.Contains(t, string(raw), `"`+deliveries.CodeNotForBankSubscriptions+`"`, c.client)
	}
	bank := h.subscribe("bank-102", map[string]any{"url": bankRecv.srv.URL, "event_types": []string{"CardApplied", "CardIssued"}})
	// As if stored before the rule: the bank's row names registrations too.
	_, err = h.b.d.pool.Exec(ctx, `UPDATE deliveries.subscriptions SET event_types = event_types || '{CardholderRegistered}' WHERE id = $1`, bank.ID)
	require.NoError(t, err)
	prov := h.subscribe("admin", map[string]any{"url": provRecv.srv.URL, "event_types": []string{"CardholderRegistered", "CardApplied"}})
	require.Empty(t, prov.Bank)

	holderA, cardA := h.issueAt(idNumber("021"), "李四", "102")
	holderB, _ := h.issueAt(idNumber("022"), "王五", "103")
	// A's replacement names no bank: bank 102 still gets the application
	// (A's past card is its), but no identity with it: it opens no account.
	st, raw := h.do(http.MethodPost, "/v1/cards/"+cardA+"/replacement", "admin", map[string]string{"reason": "damaged"})
	require.Equal(t, http.StatusOK, st, "%s", raw)
	startDeliveries(t, h.b, deliveries.Options{Backoff: 10 * time.Millisecond})
	require.Eventually(t, func() bool { return len(provRecv.ids()) >= 5 && len(bankRecv.ids()) >= 3 }, 30*time.Second, 20*time.Millisecond)

	data := func(c received) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		require.NoError(t, json.Unmarshal(c.body.Data, &m))
		return m
	}
	var bankTypes []string
	for i, c := range bankRecv.got() {
		bankTypes = append(bankTypes, c.body.Type)
		assert.Equal(t, domain.StreamFor(holderA), c.body.Stream, "bank 102 gets its own card's events only")
		d := data(c)
		assert.NotContains(t, d, "photo_ref")
		if c.body.Type != "CardApplied" || i > 0 {
			assert.NotContains(t, d, "holder", "%s %s", c.body.Type, c.raw)
			continue
		}
		var holder deliveries.Holder
		require.NoError(t, json.Unmarshal(d["holder"], &holder), "%s", c.raw)
		assert.Equal(t, deliveries.Holder{IDNumber: idNumber("021"), Name: "李四", Sex: domain.SexOf(idNumber("021")),
			BirthDate: "1980-01-01", Nationality: "CHN"}, holder, "what opening the account of its card needs")
	}
	assert.Equal(t, []string{"CardApplied", "CardIssued", "CardApplied"}, bankTypes, "no registration, not even from a row that names it")

	var provTypes []string
	for _, c := range provRecv.got() {
		provTypes = append(provTypes, c.body.Type)
		d := data(c)
		assert.NotContains(t, d, "holder")
		assert.NotContains(t, d, "photo_ref")
		assert.NotContains(t, d, "phone", "no party's card record needs the phone")
		if c.body.Type == "CardholderRegistered" {
			var reg domain.CardholderRegistered
			require.NoError(t, json.Unmarshal(c.body.Data, &reg))
			want := map[string]string{domain.StreamFor(holderA): "李四", domain.StreamFor(holderB): "王五"}[c.body.Stream]
			assert.Equal(t, want, reg.Name, "the province keys its records by identity")
			assert.NotEmpty(t, reg.IDNumber)
		}
	}
	assert.ElementsMatch(t, []string{"CardholderRegistered", "CardholderRegistered", "CardApplied", "CardApplied", "CardApplied"}, provTypes)
	require.NotEmpty(t, cardA)
}

// An ID-number change reaches the province as the link between the two
// streams, in order: the old stream's IdentityMovedOut naming the new
// cardholder id, then the new stream's IdentityMovedIn and registration.
func TestDeliveriesLinkAnIDNumberChange(t *testing.T) {
	h := newECardHarness(t, map[string]string{"CARDLEDGER_DELIVERY_ALLOW_PRIVATE": "true"})
	recv := newReceiver(t, nil)
	h.subscribe("admin", map[string]any{"url": recv.srv.URL,
		"event_types": []string{"IdentityMovedOut", "IdentityMovedIn", "CardholderRegistered"}})
	oldID, cardNo := h.issueAt(idNumber("031"), "李四", "102")
	st, raw := h.do(http.MethodPost, "/v1/cardholders/"+oldID+"/id-number-change", "admin",
		map[string]string{"new_id_number": idNumber("032"), "reason": "birth date corrected by the police"})
	require.Equal(t, http.StatusOK, st, "%s", raw)
	var moved struct {
		CardholderID string `json:"cardholder_id"`
	}
	require.NoError(t, json.Unmarshal(raw, &moved))
	startDeliveries(t, h.b, deliveries.Options{Backoff: 10 * time.Millisecond})
	require.Eventually(t, func() bool { return len(recv.ids()) >= 4 }, 30*time.Second, 20*time.Millisecond)

	calls := recv.got()
	var got []string
	for _, c := range calls {
		got = append(got, c.body.Type+"@"+c.body.Stream)
	}
	oldStream, newStream := domain.StreamFor(oldID), domain.StreamFor(moved.CardholderID)
	require.Equal(t, []string{"CardholderRegistered@" + oldStream, "IdentityMovedOut@" + oldStream,
		"IdentityMovedIn@" + newStream, "CardholderRegistered@" + newStream}, got)
	assert.JSONEq(t, `{"to_cardholder_id":"`+moved.CardholderID+`","replaced_card_no":"`+cardNo+`","reason":"birth date corrected by the police"}`,
		string(calls[1].body.Data))
	assert.JSONEq(t, `{"from_cardholder_id":"`+oldID+`","replaces_card_no":"`+cardNo+`","reason":"birth date corrected by the police"}`,
		string(calls[2].body.Data))
}
