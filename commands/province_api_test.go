package commands_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/province"
)

// provinceEnv is the ledger with the province simulator running as a real
// HTTP server behind the HTTP adapter.
type provinceEnv struct {
	*env
	sim *province.Simulator
}

// provinceTimeout is the adapter's timeout in these tests: long enough
// for a loaded machine, short enough for the hanging simulator's case.
const provinceTimeout = 2 * time.Second

func newProvinceEnv(t *testing.T) *provinceEnv {
	t.Helper()
	sim, err := province.NewSimulator(province.SimulatorOptions{Token: "province-token"})
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	client, err := province.NewClient(srv.URL, "province-token", provinceTimeout)
	require.NoError(t, err)
	e := newEnv(t, envOption{serve: func(api *commands.API, o *httpapi.Options) {
		api.Service().UseProvince(client)
		o.MapError = commands.ProblemFor
	}})
	return &provinceEnv{env: e, sim: sim}
}

// beijingCard is a card of 北京 (another prefecture than the test holders'
// 深圳 440304) recorded at the province for person n.
func beijingCard(n int, status domain.CardStatus) commands.ProvinceCard {
	return commands.ProvinceCard{IDNumber: idNumber(n), Name: fmt.Sprintf("测试%d", n), ProvincialCard: domain.ProvincialCard{
		CardNo: fmt.Sprintf("B%08d", n), Region: "110105", Status: status, IssuedOn: "2020-06-01", BankCode: "105"}}
}

func (e *provinceEnv) requireProblem(r response, status int, code string) {
	e.t.Helper()
	require.Equal(e.t, status, r.Status, string(r.Body))
	assert.Equal(e.t, code, r.problem(e.t).Code)
}

// A person with a valid card of another city gets no first card here, by
// any route, until it is transferred in; then it is their card here.
func TestProvinceFirstIssueWaitsForTheTransfer(t *testing.T) {
	e := newProvinceEnv(t)
	id := e.register(1)
	require.NoError(t, e.sim.Put(beijingCard(1, domain.StatusActive)))
	events := e.eventCount()

	e.requireProblem(e.do(http.MethodPost, "/v1/cardholders/"+id+"/applications", keyCounter,
		map[string]any{"source": "counter", "bank_code": "102"}), http.StatusConflict, domain.CodeCardHeldElsewhere)
	e.requireProblem(e.do(http.MethodPost, "/v1/cardholders/"+id+"/instant-issuance", keyBank, instantIssueBody()),
		http.StatusConflict, domain.CodeCardHeldElsewhere)
	assert.Equal(t, events, e.eventCount(), "refused: no event, no card number reserved")

	r := e.do(http.MethodGet, "/v1/cardholders/"+id+"/provincial-cards", keyCounter, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var got commands.ProvincialCards
	r.json(t, &got)
	assert.Equal(t, "B00000001", got.BlockedBy)
	require.Len(t, got.Cards, 1)
	assert.True(t, got.Cards[0].Elsewhere)
	assert.False(t, got.Cards[0].Here)

	r = e.do(http.MethodPost, "/v1/cardholders/"+id+"/transfer-in", keyCounter, map[string]any{"card_no": "B00000001", "reason": "moved from Beijing"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	c := r.command(t)
	assert.Equal(t, []string{"CardTransferredIn"}, c.Events)
	assert.Equal(t, "B00000001", c.CardNo)
	assert.Equal(t, domain.StatusActive, c.CardStatus)
	rec, _ := e.sim.Record("B00000001")
	assert.Equal(t, "440304", rec.Region)
	assert.Equal(t, "110105", rec.TransferredFrom)

	// Now it is an ordinary card of this city.
	e.requireProblem(e.do(http.MethodPost, "/v1/cardholders/"+id+"/applications", keyCounter,
		map[string]any{"source": "counter", "bank_code": "102"}), http.StatusConflict, domain.CodeValidCardExists)
	r = e.do(http.MethodPost, "/v1/cards/B00000001/loss", keyCounter, map[string]any{"reason": "lost"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, domain.StatusLost, r.command(t).CardStatus)
	h, _ := e.history("/v1/cardholders/" + id + "/history")
	assert.Equal(t, []string{"CardholderRegistered", "CardTransferredIn", "CardReportedLost"}, types(h))
}

// A cancelled card elsewhere, or none, lets the first issue through.
func TestProvinceFirstIssueWithNoValidCardElsewhere(t *testing.T) {
	e := newProvinceEnv(t)
	require.NoError(t, e.sim.Put(beijingCard(2, domain.StatusCancelled)))
	for _, n := range []int{2, 3} {
		id := e.register(n)
		r := e.do(http.MethodPost, "/v1/cardholders/"+id+"/instant-issuance", keyBank, instantIssueBody())
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	}
	id := e.register(4)
	r := e.do(http.MethodPost, "/v1/cardholders/"+id+"/transfer-in", keyCounter, map[string]any{"card_no": "B00000002"})
	e.requireProblem(r, http.StatusNotFound, commands.CodeProvincialCardNotFound)
}

// A province that answers garbage, 500 or nothing refuses the command
// with province_unavailable and leaves the person exactly as they were;
// once it answers again, the same command goes through.
func TestProvinceFaultsRecordNothing(t *testing.T) {
	e := newProvinceEnv(t)
	id := e.register(5)
	require.NoError(t, e.sim.Put(beijingCard(5, domain.StatusActive)))
	before := e.streamLen(id)
	for _, fault := range province.Faults() {
		t.Run(string(fault), func(t *testing.T) {
			e.sim.SetFault(fault)
			e.requireProblem(e.do(http.MethodPost, "/v1/cardholders/"+id+"/transfer-in", keyCounter, map[string]any{"card_no": "B00000005"}),
				http.StatusServiceUnavailable, commands.CodeProvinceUnavailable)
			e.requireProblem(e.do(http.MethodPost, "/v1/cardholders/"+id+"/applications", keyCounter,
				map[string]any{"source": "counter", "bank_code": "102"}), http.StatusServiceUnavailable, commands.CodeProvinceUnavailable)
			e.requireProblem(e.do(http.MethodGet, "/v1/cardholders/"+id+"/provincial-cards", keyCounter, nil),
				http.StatusServiceUnavailable, commands.CodeProvinceUnavailable)
			// With an Idempotency-Key too: a 503 is not stored as the key's answer.
			e.requireProblem(e.do(http.MethodPost, "/v1/cardholders/"+id+"/transfer-in", keyCounter, map[string]any{"card_no": "B00000005"},
				commands.HeaderIdempotencyKey, "transfer-5"), http.StatusServiceUnavailable, commands.CodeProvinceUnavailable)
			assert.Equal(t, before, e.streamLen(id), "nothing appended")
			rec, _ := e.sim.Record("B00000005")
			assert.Equal(t, "110105", rec.Region, "the province's record did not move")
		})
	}
	e.sim.SetFault(province.FaultNone)
	r := e.do(http.MethodPost, "/v1/cardholders/"+id+"/transfer-in", keyCounter, map[string]any{"card_no": "B00000005"},
		commands.HeaderIdempotencyKey, "transfer-5")
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"CardTransferredIn"}, r.command(t).Events)
}

// The province moved the record but its answer was lost (here: moved by
// an earlier call the ledger never heard back from): the retry finds the
// record already in this city and finishes the transfer.
func TestTransferInRetryFinishesAfterALostAnswer(t *testing.T) {
	e := newProvinceEnv(t)
	id := e.register(6)
	moved := beijingCard(6, domain.StatusActive)
	moved.Region, moved.TransferredFrom = "440304", "110105"
	require.NoError(t, e.sim.Put(moved))
	r := e.do(http.MethodPost, "/v1/cardholders/"+id+"/transfer-in", keyCounter, map[string]any{"card_no": "B00000006"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	st := e.state(id)
	require.NotNil(t, st.Card)
	assert.Equal(t, "B00000006", st.Card.CardNo)
	// Another holder cannot take the same card in.
	other := e.register(7)
	e.requireProblem(e.do(http.MethodPost, "/v1/cardholders/"+other+"/transfer-in", keyCounter, map[string]any{"card_no": "B00000006"}),
		http.StatusNotFound, commands.CodeProvincialCardNotFound)
}

// 注销省厅卡信息: the province's record of a cancelled card is cancelled,
// once; a card valid here is refused.
func TestProvincialRecordCancellation(t *testing.T) {
	e := newProvinceEnv(t)
	_, card := e.activeCard(8)
	r := e.do(http.MethodPost, "/v1/province/uploads", keyAdmin, map[string]any{})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	rec, ok := e.sim.Record(card)
	require.True(t, ok, "uploaded")
	assert.Equal(t, domain.StatusActive, rec.Status)

	path := "/v1/cards/" + card + "/provincial-record/cancellation"
	e.requireProblem(e.do(http.MethodPost, path, keyCounter, map[string]any{"reason": "r"}), http.StatusConflict, domain.CodeCardStillValid)
	r = e.do(http.MethodPost, "/v1/cards/"+card+"/cancellation", keyCounter, map[string]any{"reason": "holder asked"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r = e.do(http.MethodPost, path, keyCounter, map[string]any{"reason": "card destroyed"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, []string{"ProvincialRecordCancelled"}, r.command(t).Events)
	rec, _ = e.sim.Record(card)
	assert.Equal(t, domain.StatusCancelled, rec.Status)
	e.requireProblem(e.do(http.MethodPost, path, keyCounter, map[string]any{"reason": "again"}), http.StatusConflict, domain.CodeProvincialRecordCancelled)
}

// The upload is incremental: from the last until_position, only the
// holders changed since are sent; the file form carries the same records.
func TestProvinceUploadIsIncremental(t *testing.T) {
	e := newProvinceEnv(t)
	_, card9 := e.activeCard(9)
	_, card10 := e.activeCard(10)
	e.register(11) // no card: nothing to record

	var first commands.UploadReport
	r := e.do(http.MethodPost, "/v1/province/uploads", keyAdmin, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r.json(t, &first)
	assert.Equal(t, 3, first.Holders)
	assert.Equal(t, 2, first.Records)
	assert.False(t, first.More)
	assert.Empty(t, first.Rejected)
	rec, ok := e.sim.Record(card9)
	require.True(t, ok)
	assert.Equal(t, idNumber(9), rec.IDNumber)
	assert.Equal(t, "440304", rec.Region)

	r = e.do(http.MethodPost, "/v1/cards/"+card10+"/loss", keyCounter, map[string]any{"reason": "lost"})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	var next commands.UploadReport
	r = e.do(http.MethodPost, "/v1/province/uploads", keyAdmin, map[string]any{"from_position": first.Until})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	r.json(t, &next)
	assert.Equal(t, 1, next.Holders)
	assert.Equal(t, 1, next.Records)
	rec, _ = e.sim.Record(card10)
	assert.Equal(t, domain.StatusLost, rec.Status)

	r = e.do(http.MethodGet, "/v1/province/records?from_position="+first.Until, keyAdmin, nil)
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	assert.Equal(t, "application/x-ndjson", r.Header.Get("Content-Type"))
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(r.Body))
	for sc.Scan() {
		var m map[string]any
		require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
		lines = append(lines, m)
	}
	require.Len(t, lines, 2)
	assert.Equal(t, card10, lines[0]["card_no"])
	assert.Equal(t, "lost", lines[0]["status"])
	assert.Equal(t, next.Until, lines[1]["until_position"])

	e.requireProblem(e.do(http.MethodPost, "/v1/province/uploads", keyCounter, nil), http.StatusForbidden, "forbidden")
	e.requireProblem(e.do(http.MethodPost, "/v1/province/uploads", keyAdmin, map[string]any{"from_position": "nope"}),
		http.StatusBadRequest, "invalid_request")
}

// Without a province the ledger works as before, and the province's own
// routes say it is not there.
func TestNoProvinceConfigured(t *testing.T) {
	e := newEnv(t)
	id := e.register(12)
	r := e.do(http.MethodGet, "/v1/cardholders/"+id+"/provincial-cards", keyCounter, nil)
	require.Equal(t, http.StatusServiceUnavailable, r.Status, string(r.Body))
	assert.Equal(t, commands.CodeProvinceUnavailable, r.problem(t).Code)
	r = e.do(http.MethodPost, "/v1/cardholders/"+id+"/instant-issuance", keyBank, instantIssueBody())
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
}
