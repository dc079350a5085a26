package commands_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

func TestCardLifecycleOverHTTP(t *testing.T) {
	e := newEnv(t)

	r := e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(1), "X-Operator", "李四")
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	reg := r.command(t)
	require.Len(t, reg.CardholderID, 32)
	assert.Equal(t, domain.CardholderIDFor(testIDKey, idNumber(1)), reg.CardholderID)
	assert.Equal(t, uint64(0), reg.Revision)
	assert.NotEmpty(t, reg.Position)
	assert.Equal(t, []string{"CardholderRegistered"}, reg.Events)
	assert.Equal(t, `"0"`, r.Header.Get("ETag"))

	r = e.do(http.MethodPost, "/v1/cardholders/"+reg.CardholderID+"/instant-issuance", keyBank, instantIssueBody())
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	issued := r.command(t)
	require.NoError(t, domain.ValidateCardNo(issued.CardNo))
	assert.True(t, strings.HasPrefix(issued.CardNo, "A"))
	assert.Equal(t, domain.StatusActive, issued.CardStatus)
	assert.Equal(t, uint64(6), issued.Revision)
	assert.Equal(t, []string{"CardApplied", "BankAccountOpened", "CardNumberAssigned", "CardProduced", "CardIssued", "CardActivated"}, issued.Events)

	card := "/v1/cards/" + issued.CardNo
	steps := []struct {
		path   string
		body   any
		status domain.CardStatus
	}{
		{"/loss", map[string]string{"reason": "lost on the bus"}, domain.StatusLost},
		{"/unlock", nil, domain.StatusActive},
		{"/cancellation", map[string]string{"reason": "holder asked"}, domain.StatusCancelled},
		{"/restoration", map[string]string{"reason": "by mistake"}, domain.StatusActive},
	}
	for i, s := range steps {
		r := e.do(http.MethodPost, card+s.path, keyCounter, s.body)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", s.path, r.Body)
		got := r.command(t)
		assert.Equal(t, s.status, got.CardStatus, s.path)
		assert.Equal(t, uint64(7+i), got.Revision, s.path)
		assert.Equal(t, `"`+strconv.Itoa(7+i)+`"`, r.Header.Get("ETag"), s.path)
	}

	h, hr := e.history(card + "/history")
	assert.Equal(t, []string{
		"CardApplied", "BankAccountOpened", "CardNumberAssigned", "CardProduced", "CardIssued", "CardActivated",
		"CardReportedLost", "CardUnlocked", "CardCancelled", "CardCancellationRestored",
	}, types(h))
	assert.Equal(t, `"10"`, hr.Header.Get("ETag"))
	for i, ev := range h.Events {
		assert.Equal(t, uint64(i+1), ev.Revision, "card events follow the registration in stream order")
		assert.NotEmpty(t, ev.Position)
		assert.False(t, ev.RecordedAt.IsZero())
	}
	var lost domain.CardReportedLost
	require.NoError(t, json.Unmarshal(h.Events[6].Data, &lost))
	assert.Equal(t, domain.CardReportedLost{CardNo: issued.CardNo, Reason: "lost on the bus"}, lost)

	var md domain.Metadata
	require.NoError(t, json.Unmarshal(h.Events[6].Metadata, &md))
	assert.Equal(t, domain.Actor{Client: "counter-futian"}, md.Actor)
	assert.Equal(t, "http", md.Channel)
	assert.Equal(t, 1, md.SchemaVersion)
	assert.NotEmpty(t, md.EventID)
	assert.NotEmpty(t, md.CorrelationID)
	assert.WithinDuration(t, time.Now(), md.OccurredAt, time.Minute)
	assert.Equal(t, "127.0.0.1", md.RemoteAddr, "the test client's address")

	all, ar := e.history("/v1/cardholders/" + reg.CardholderID + "/history")
	require.Len(t, all.Events, 11)
	assert.Equal(t, "CardholderRegistered", all.Events[0].Type)
	assert.Equal(t, `"10"`, ar.Header.Get("ETag"))
	require.NoError(t, json.Unmarshal(all.Events[0].Metadata, &md))
	assert.Equal(t, domain.Actor{Client: "counter-futian", Operator: "李四"}, md.Actor)
	require.NoError(t, json.Unmarshal(all.Events[1].Metadata, &md))
	assert.Equal(t, "bank-102", md.Actor.Client)
}

func TestBadInputIsRefusedAndAppendsNothing(t *testing.T) {
	e := newEnv(t)
	holder, cardNo := e.activeCard(1)
	card := "/v1/cards/" + cardNo
	withField := func(field, value string) map[string]any {
		b := registerBody(2)
		b[field] = value
		return b
	}
	badCheck := idNumber(2)[:17] + map[bool]string{true: "1", false: "2"}[idNumber(2)[17] != '1']

	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
		field, fieldCode   string
	}{
		{"malformed JSON", "POST", "/v1/cardholders", `{"id_number": "44`, 400, httpapi.CodeMalformedJSON, "", ""},
		{"unknown field", "POST", "/v1/cardholders", `{"id_number":"x","age":3}`, 400, httpapi.CodeUnknownField, "age", httpapi.CodeUnknownField},
		{"wrong type", "POST", "/v1/cardholders", `{"name": 42}`, 400, httpapi.CodeWrongType, "name", httpapi.CodeWrongType},
		{"trailing data", "POST", "/v1/cardholders", `{} {}`, 400, httpapi.CodeTrailingData, "", ""},
		{"empty body", "POST", "/v1/cardholders", nil, 400, httpapi.CodeEmptyBody, "", ""},
		{"oversized body", "POST", "/v1/cardholders", `{"name":"` + strings.Repeat("x", 2<<20) + `"}`, 413, httpapi.CodeBodyTooLarge, "", ""},
		{"ID number check digit", "POST", "/v1/cardholders", withField("id_number", badCheck), 400, domain.CodeInvalidCommand, "id_number", domain.CodeInvalidIDNumber},
		{"ID number too short", "POST", "/v1/cardholders", withField("id_number", "4403041990"), 400, domain.CodeInvalidCommand, "id_number", domain.CodeInvalidIDNumber},
		{"sex not in enum", "POST", "/v1/cardholders", withField("sex", "other"), 400, domain.CodeInvalidCommand, "sex", domain.CodeInvalidValue},
		{"bad region", "POST", "/v1/cardholders", withField("region_code", "999999"), 400, domain.CodeInvalidCommand, "region_code", domain.CodeInvalidRegionCode},
		{"registered twice", "POST", "/v1/cardholders", registerBody(1), 409, domain.CodeAlreadyRegistered, "", ""},
		{"unknown cardholder", "POST", "/v1/cardholders/0123456789abcdef0123456789abcdef/applications", map[string]string{"source": "counter"}, 404, domain.CodeCardholderNotFound, "", ""},
		{"malformed cardholder id", "POST", "/v1/cardholders/nope/applications", map[string]string{"source": "counter"}, 404, domain.CodeCardholderNotFound, "", ""},
		{"second application while a card is valid", "POST", "/v1/cardholders/" + holder + "/applications", map[string]string{"source": "counter"}, 409, domain.CodeValidCardExists, "", ""},
		{"unknown card", "POST", "/v1/cards/A00000001/loss", nil, 404, domain.CodeCardNotFound, "", ""},
		{"malformed card number", "POST", "/v1/cards/12345/loss", nil, 400, domain.CodeInvalidCommand, "card_no", domain.CodeInvalidCardNo},
		{"unlock an active card", "POST", card + "/unlock", nil, 409, domain.CodeInvalidTransition, "", ""},
		{"restore an active card", "POST", card + "/restoration", nil, 409, domain.CodeInvalidTransition, "", ""},
		{"reason of the wrong type", "POST", card + "/loss", `{"reason": ["a"]}`, 400, httpapi.CodeWrongType, "reason", httpapi.CodeWrongType},
		{"bad If-Match", "POST", card + "/loss", nil, 400, "invalid_if_match", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.eventCount()
			var headers []string
			if tc.name == "bad If-Match" {
				headers = []string{"If-Match", "yesterday"}
			}
			r := e.do(tc.method, tc.path, keyCounter, tc.body, headers...)
			require.Equal(t, tc.status, r.Status, string(r.Body))
			p := r.problem(t)
			assert.Equal(t, tc.code, p.Code)
			assert.Equal(t, tc.status, p.Status)
			if tc.field != "" {
				require.NotEmpty(t, p.Errors)
				assert.Equal(t, tc.field, p.Errors[0].Field)
				assert.Equal(t, tc.fieldCode, p.Errors[0].Code)
			}
			assert.Equal(t, before, e.eventCount(), "a refused command appends nothing")
		})
	}
}

// Counts here read the cardholder streams, never $all: $all deliberately
// lags open transactions (eventstore/pgstore/visibility.go), so a count of
// it can miss an event that a replay appended, or one the first request did.
func TestIdempotencyKeyReturnsTheFirstResponse(t *testing.T) {
	t.Run("claimed first", func(t *testing.T) { testIdempotencyKeyReturnsTheFirstResponse(t) })
	t.Run("folded into the append", func(t *testing.T) { testIdempotencyKeyReturnsTheFirstResponse(t, folded) })
}

func testIdempotencyKeyReturnsTheFirstResponse(t *testing.T, opts ...envOption) {
	e := newEnv(t, opts...)
	const key = "c0ffee-1"

	first := e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(1), "Idempotency-Key", key)
	require.Equal(t, http.StatusCreated, first.Status, string(first.Body))
	holder := first.command(t).CardholderID
	require.Equal(t, 1, e.streamLen(holder))

	again := e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(1), "Idempotency-Key", key)
	assert.Equal(t, http.StatusCreated, again.Status)
	assert.JSONEq(t, string(first.Body), string(again.Body))
	assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	assert.Equal(t, first.Header.Get("ETag"), again.Header.Get("ETag"))
	assert.Equal(t, 1, e.streamLen(holder), "a replay appends nothing")

	other := e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(2), "Idempotency-Key", key)
	require.Equal(t, http.StatusUnprocessableEntity, other.Status)
	assert.Equal(t, "idempotency_key_reused", other.problem(t).Code)
	assert.Equal(t, 0, e.streamLen(domain.CardholderIDFor(testIDKey, idNumber(2))), "a reused key registers nobody")

	// Keys belong to their client: another client's same key is a new command.
	mine := e.do(http.MethodPost, "/v1/cardholders", keyBank, registerBody(3), "Idempotency-Key", key)
	assert.Equal(t, http.StatusCreated, mine.Status)
	assert.Equal(t, 1, e.streamLen(domain.CardholderIDFor(testIDKey, idNumber(3))))

	// A retried loss is not refused as "already lost".
	holder, cardNo := e.activeCard(4)
	loss := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/loss", keyCounter, nil, "Idempotency-Key", "loss-1")
	require.Equal(t, http.StatusOK, loss.Status, string(loss.Body))
	count := e.streamLen(holder)
	lossAgain := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/loss", keyCounter, nil, "Idempotency-Key", "loss-1")
	assert.Equal(t, http.StatusOK, lossAgain.Status)
	assert.JSONEq(t, string(loss.Body), string(lossAgain.Body))
	assert.Equal(t, count, e.streamLen(holder))

	// A PIN reset may happen any number of times, so only the key keeps a
	// retried one from appending a second PINReset.
	unlock := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/unlock", keyCounter, nil)
	require.Equal(t, http.StatusOK, unlock.Status, string(unlock.Body))
	pin := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/pin-reset", keyCounter, nil, "Idempotency-Key", "pin-1")
	require.Equal(t, http.StatusOK, pin.Status, string(pin.Body))
	count = e.streamLen(holder)
	pinAgain := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/pin-reset", keyCounter, nil, "Idempotency-Key", "pin-1")
	assert.Equal(t, http.StatusOK, pinAgain.Status)
	assert.JSONEq(t, string(pin.Body), string(pinAgain.Body))
	assert.Equal(t, count, e.streamLen(holder), "a retried PIN reset appends nothing")

	// Refusals are remembered too: the same request gets the same answer.
	refused := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/restoration", keyCounter, nil, "Idempotency-Key", "restore-1")
	require.Equal(t, http.StatusConflict, refused.Status)
	refusedAgain := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/restoration", keyCounter, nil, "Idempotency-Key", "restore-1")
	assert.Equal(t, http.StatusConflict, refusedAgain.Status)
	assert.Equal(t, refused.Body, refusedAgain.Body)
	assert.Equal(t, count, e.streamLen(holder))
}

func TestIfMatchRefusesAStaleRevision(t *testing.T) {
	e := newEnv(t)
	holder, cardNo := e.activeCard(1)
	_, hr := e.history("/v1/cardholders/" + holder + "/history")
	seen := hr.Header.Get("ETag")
	require.Equal(t, `"6"`, seen)

	r := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/temporary-loss", keyCounter, nil, "If-Match", seen)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))

	count := e.eventCount()
	stale := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/loss", keyCounter, nil, "If-Match", seen)
	require.Equal(t, http.StatusPreconditionFailed, stale.Status)
	assert.Equal(t, "revision_mismatch", stale.problem(t).Code)
	assert.Equal(t, count, e.eventCount())

	fresh := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/loss", keyCounter, nil, "If-Match", "7")
	assert.Equal(t, http.StatusOK, fresh.Status, "the unquoted revision works too")
}

func TestConcurrentLossHasExactlyOneWinner(t *testing.T) {
	e := newEnv(t)
	_, cardNo := e.activeCard(1)

	const n = 10
	statuses := make([]int, n)
	codes := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/loss", keyCounter, map[string]string{"reason": strconv.Itoa(i)})
			statuses[i] = r.Status
			if r.Status >= 400 {
				var p httpapi.Problem
				_ = json.Unmarshal(r.Body, &p)
				codes[i] = p.Code
			}
		}()
	}
	wg.Wait()

	wins := 0
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			wins++
		case http.StatusConflict:
			assert.Equal(t, domain.CodeInvalidTransition, codes[i])
		default:
			t.Errorf("request %d: status %d", i, s)
		}
	}
	assert.Equal(t, 1, wins)
	h, _ := e.history("/v1/cards/" + cardNo + "/history")
	lost := 0
	for _, ev := range h.Events {
		if ev.Type == "CardReportedLost" {
			lost++
		}
	}
	assert.Equal(t, 1, lost)
}

func TestAuthenticationAndRoles(t *testing.T) {
	e := newEnv(t)
	holder, cardNo := e.activeCard(1)
	loss := "/v1/cards/" + cardNo + "/loss"
	cases := []struct {
		name, method, path, key string
		status                  int
	}{
		{"no key", "POST", loss, "", 401},
		{"unknown key", "POST", loss, "stolen", 401},
		{"analyst may not command", "POST", loss, keyAnalyst, 403},
		{"auditor may not command", "POST", loss, keyAuditor, 403},
		{"counter may not instant-issue", "POST", "/v1/cardholders/" + holder + "/instant-issuance", keyCounter, 403},
		{"bank may not cancel", "POST", "/v1/cards/" + cardNo + "/cancellation", keyBank, 403},
		{"analyst may not read histories", "GET", "/v1/cardholders/" + holder + "/history", keyAnalyst, 403},
		{"auditor reads histories", "GET", "/v1/cardholders/" + holder + "/history", keyAuditor, 200},
		{"bank may report loss", "POST", loss, keyBank, 200},
		{"admin may do anything", "POST", "/v1/cards/" + cardNo + "/unlock", keyAdmin, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.eventCount()
			r := e.do(tc.method, tc.path, tc.key, nil)
			require.Equal(t, tc.status, r.Status, string(r.Body))
			if tc.status >= 400 {
				assert.Equal(t, map[int]string{401: "unauthenticated", 403: "forbidden"}[tc.status], r.problem(t).Code)
				assert.Equal(t, before, e.eventCount())
			}
		})
	}
}

func TestStateAsOfReplaysUpToThatInstant(t *testing.T) {
	e := newEnv(t)
	holder, cardNo := e.activeCard(1)
	time.Sleep(20 * time.Millisecond)
	between := time.Now()
	time.Sleep(20 * time.Millisecond)
	r := e.do(http.MethodPost, "/v1/cards/"+cardNo+"/loss", keyCounter, nil)
	require.Equal(t, http.StatusOK, r.Status)

	var past, now struct {
		Revision uint64 `json:"revision"`
		Profile  struct {
			IDNumber string `json:"id_number"`
		} `json:"profile"`
		Card struct {
			CardNo string            `json:"card_no"`
			Status domain.CardStatus `json:"status"`
		} `json:"card"`
	}
	r = e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state?as_of="+between.UTC().Format(time.RFC3339Nano), keyAuditor, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r.json(t, &past)
	assert.Equal(t, domain.StatusActive, past.Card.Status)
	assert.Equal(t, uint64(6), past.Revision)
	assert.Equal(t, idNumber(1), past.Profile.IDNumber)

	r = e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state", keyAuditor, nil)
	require.Equal(t, http.StatusOK, r.Status)
	r.json(t, &now)
	assert.Equal(t, domain.StatusLost, now.Card.Status)
	assert.Equal(t, cardNo, now.Card.CardNo)
	assert.Equal(t, uint64(7), now.Revision)

	r = e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state?as_of=2000-01-01T00:00:00Z", keyAuditor, nil)
	assert.Equal(t, http.StatusNotFound, r.Status, "nobody was registered then")
	r = e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state?as_of=yesterday", keyAuditor, nil)
	require.Equal(t, http.StatusBadRequest, r.Status)
	assert.Equal(t, "invalid_as_of", r.problem(t).Code)
}

func TestReplacementThenNewCardLifecycle(t *testing.T) {
	e := newEnv(t)
	holder, oldCard := e.activeCard(1)
	r := e.do(http.MethodPost, "/v1/cards/"+oldCard+"/replacement", keyCounter, map[string]string{"reason": "damaged"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardCancelled", "CardApplied"}, r.command(t).Events)

	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/bank-account", keyBank, map[string]string{"account_no": "6212260200012345678"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/card-number", keyCounter, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	newCard := r.command(t).CardNo
	require.NotEqual(t, oldCard, newCard)

	card := "/v1/cards/" + newCard
	for _, step := range []struct {
		path string
		body any
	}{
		{"/production", map[string]string{"chip_id": "0123456789abcdef0123456789abcdef", "vendor": "vendor-1"}},
		{"/handovers", map[string]string{"from": "vendor", "to": "outlet-futian", "handler": "王五"}},
		{"/issue", nil},
		{"/activation", nil},
		{"/pin-reset", nil},
		{"/ecard", nil},
		{"/ecard/revocation", map[string]string{"cause": "misuse", "reason": "account taken over"}},
		{"/transfer", map[string]string{"to_region": "110105"}},
	} {
		r := e.do(http.MethodPost, card+step.path, keyCounter, step.body)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", step.path, r.Body)
	}
	old, _ := e.history("/v1/cards/" + oldCard + "/history")
	assert.Equal(t, "CardCancelled", old.Events[len(old.Events)-1].Type, "the old card's history ends with its cancellation")
	h, _ := e.history(card + "/history")
	assert.Equal(t, []string{"CardApplied", "BankAccountOpened", "CardNumberAssigned", "CardProduced", "CardHandedOver",
		"CardIssued", "CardActivated", "PINReset", "ECardIssued", "ECardRevoked", "CardholderTransferredOut"}, types(h))
	revoked := h.Events[9]
	assert.JSONEq(t, `{"card_no":"`+newCard+`","cause":"misuse","reason":"account taken over"}`, string(revoked.Data))
	var md domain.Metadata
	require.NoError(t, json.Unmarshal(revoked.Metadata, &md))
	assert.Equal(t, 2, md.SchemaVersion, "written at the codec's current version")
}

func TestECardRevocationCause(t *testing.T) {
	e := newEnv(t)
	holder, card := e.activeCard(1)
	r := e.do(http.MethodPost, "/v1/cards/"+card+"/ecard", keyCounter, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	for body, field := range map[string]string{
		`{"cause":"unrecorded"}`: "cause", `{"cause":"stolen"}`: "cause", `{"cause":"other"}`: "reason",
	} {
		r = e.do(http.MethodPost, "/v1/cards/"+card+"/ecard/revocation", keyCounter, body)
		require.Equal(t, http.StatusBadRequest, r.Status, "%s: %s", body, r.Body)
		p := r.problem(t)
		require.Len(t, p.Errors, 1, body)
		assert.Equal(t, field, p.Errors[0].Field, body)
	}
	r = e.do(http.MethodPost, "/v1/cards/"+card+"/ecard/revocation", keyCounter, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	h, _ := e.history("/v1/cards/" + card + "/history")
	assert.JSONEq(t, `{"card_no":"`+card+`","cause":"request"}`, string(h.Events[len(h.Events)-1].Data), "the cause defaults to request")
	r = e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state", keyAuditor, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var state commands.StateView
	r.json(t, &state)
	assert.Equal(t, domain.ECardCauseRequest, state.Card.ECardRevokedCause)
	assert.False(t, state.Card.ECardIssued)
}

func TestOpenAPIListsTheCommandRoutes(t *testing.T) {
	e := newEnv(t)
	r := e.do(http.MethodGet, "/openapi.json", "", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	r.json(t, &doc)
	for _, p := range []string{"/v1/cardholders", "/v1/cardholders/{id}/instant-issuance", "/v1/cards/{card_no}/loss",
		"/v1/cards/{card_no}/handovers", "/v1/cards/{card_no}/history", "/v1/cardholders/{id}/state"} {
		assert.Contains(t, doc.Paths, p)
	}
}

func TestConcurrentRegistrationsOfOnePersonMakeOneStream(t *testing.T) {
	e := newEnv(t)
	const n = 6
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(1)).Status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		if s == http.StatusCreated {
			created++
		} else {
			assert.Equal(t, http.StatusConflict, s)
		}
	}
	assert.Equal(t, 1, created)
	assert.Equal(t, 1, e.eventCount())
}
