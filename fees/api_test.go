package fees_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/fees"
	"github.com/cardledger/cardledger/fees/possim"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

var testIDKey = []byte("fees-test-key-0123456789abcdef01")

// 2026-03-02 10:00 in China.
func testClock() time.Time { return time.Date(2026, 3, 2, 2, 0, 0, 0, time.UTC) }

type env struct {
	t       *testing.T
	cmds    *commands.Service
	ledger  *httptest.Server
	pos     *possim.Sim
	posSrv  *httptest.Server
	holders int
}

// newEnv runs the fee routes over real PostgreSQL, with a POS simulator
// (opts) reporting back to them as a pos client.
func newEnv(t *testing.T, opts possim.Options, wrap func(http.Handler) http.Handler) *env {
	t.Helper()
	ctx := context.Background()
	url := testpg.NewDatabase(t) + "&pool_max_conns=6"
	store := pgstoretest.OpenURL(t, url)
	pool := testpg.NewPool(t, url)
	cmds, err := commands.NewService(store, testIDKey, testClock)
	if err != nil {
		t.Fatal(err)
	}
	rm := batch.NewReadModel(pool)
	if err := rm.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fees.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, cmds: cmds}
	var pos http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.pos.ServeHTTP(w, r) })
	if wrap != nil {
		pos = wrap(pos)
	}
	e.posSrv = httptest.NewServer(pos)
	t.Cleanup(e.posSrv.Close)
	log := logrus.New()
	log.SetOutput(&bytes.Buffer{})
	api := fees.NewAPI(cmds, pool, rm, fees.HTTPPOS{URL: e.posSrv.URL, Client: &http.Client{Timeout: 300 * time.Millisecond}, Backoff: 10 * time.Millisecond},
		func(ctx context.Context) error { return rm.CatchUp(ctx, store) })
	srv := httpapi.NewServer(httpapi.Options{
		Auth: httpapi.StaticAuthenticator{
			"counter-key": {Client: "counter-1", Role: httpapi.RoleCounter},
			"pos-key":     {Client: "pos-gateway", Role: httpapi.RolePOS},
			"other-key":   {Client: "counter-2", Role: httpapi.RoleCounter, Region: "110105"},
		},
		MapError: commands.ProblemFor, Log: log,
	}, api.Routes())
	e.ledger = httptest.NewServer(srv)
	t.Cleanup(e.ledger.Close)
	opts.LedgerURL, opts.APIKey = e.ledger.URL, "pos-key"
	e.pos = possim.New(opts)
	return e
}

// holder registers a person with an active card and replaces it under a
// 20-yuan fee; it returns the holder id and the replacement's application.
func (e *env) holder(claim domain.FeeExemption) (string, string) {
	e.t.Helper()
	e.holders++
	n := e.holders
	first := "44020319800101" + string(rune('0'+n/10)) + string(rune('0'+n%10)) + "1"
	idNo := first + string(domain.IDCheckChar(first))
	id := domain.CardholderIDFor(testIDKey, idNo)
	card := "G0000000" + string(rune('0'+n))
	app := uuid.NewString()
	schedule := domain.FeeSchedule{AmountFen: 2000, ElderlyAge: 70, Exemptions: []domain.FeeExemption{domain.FeeExemptHardship}}
	cmds := []domain.CardholderCommand{
		domain.RegisterCardholder{CardholderID: id, IDNumber: idNo, Name: "李四", Nationality: "CHN", RegionCode: "440203"},
		domain.InstantIssue{ApplicationID: uuid.NewString(), BankCode: "102", AccountNo: "622200000000000" + string(rune('0'+n)), CardNo: card,
			ChipID: "0123456789abcdef0123456789abcdef", On: testClock()},
		domain.ReplaceCard{CardNo: card, ApplicationID: app, Source: domain.SourceCounter, BankCode: "102",
			Fee: &domain.ReplacementFee{Schedule: schedule, Claim: claim, On: testClock()}},
	}
	for _, cmd := range cmds {
		if _, err := e.cmds.Cardholder.Handle(context.Background(), commands.CardholderCommand{
			Envelope: commands.NewEnvelope(domain.Actor{Client: "counter-1"}, "test"), CardholderID: id, Command: cmd}); err != nil {
			e.t.Fatalf("%s: %v", cmd.CommandName(), err)
		}
	}
	return id, app
}

func (e *env) do(method, path, key string, body any, want int) []byte {
	e.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, e.ledger.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	_, _ = out.ReadFrom(resp.Body)
	if resp.StatusCode != want {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, out.String(), want)
	}
	return out.Bytes()
}

func (e *env) state(id string) *domain.Cardholder {
	e.t.Helper()
	l, err := e.cmds.Repository.Load(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return l.State
}

func paidEvents(e *env, id string) int {
	l, err := e.cmds.Repository.Load(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, r := range l.Recorded {
		if r.Type == "ReplacementFeePaid" {
			n++
		}
	}
	return n
}

func problemCode(t *testing.T, body []byte) string {
	var p struct{ Code string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	return p.Code
}

// The POS answers garbage twice, then acknowledges; it reports the payment
// twice. The fee is paid once, the notice sent again changes nothing.
func TestPOSGarbageIsRetriedAndADuplicateReportIsRecordedOnce(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, possim.Options{Duplicate: true, Now: testClock}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) <= 2 {
				_, _ = w.Write([]byte("<html>502 Bad Gateway</html>"))
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	id, app := e.holder("")
	if !e.state(id).Card.Fee.Due() {
		t.Fatal("the replacement's fee is not due")
	}
	var ans fees.CollectionAnswer
	if err := json.Unmarshal(e.do(http.MethodPost, "/v1/cardholders/"+id+"/fee/collection", "counter-key", nil, http.StatusAccepted), &ans); err != nil {
		t.Fatal(err)
	}
	if ans.Notice != (fees.Notice{NoticeNo: app, CardholderID: id, ApplicationID: app, AmountFen: 2000}) || calls.Load() != 3 {
		t.Fatalf("notice %+v after %d calls", ans.Notice, calls.Load())
	}
	if errs := e.pos.Wait(); len(errs) != 0 {
		t.Fatalf("the simulator's reports: %v", errs)
	}
	fee := e.state(id).Card.Fee
	if fee.Due() || fee.PaymentID != possim.PaymentID(app) || paidEvents(e, id) != 1 {
		t.Fatalf("fee %+v, %d payment events", fee, paidEvents(e, id))
	}
	// Paid: nothing more to collect.
	if c := problemCode(t, e.do(http.MethodPost, "/v1/cardholders/"+id+"/fee/collection", "counter-key", nil, http.StatusConflict)); c != domain.CodeNoFeeDue {
		t.Fatalf("collection of a paid fee: %s", c)
	}
	// The same report again: answered, not recorded.
	p := fees.Payment{PaymentID: possim.PaymentID(app), CardholderID: id, ApplicationID: app, AmountFen: 2000, PaidAt: testClock()}
	var pa fees.PaymentAnswer
	_ = json.Unmarshal(e.do(http.MethodPost, "/v1/fees/payments", "pos-key", p, http.StatusOK), &pa)
	if pa.Recorded || paidEvents(e, id) != 1 {
		t.Fatalf("repeat %+v, %d payment events", pa, paidEvents(e, id))
	}
	// The same payment id for another holder's fee is refused.
	id2, app2 := e.holder("")
	reused := fees.Payment{PaymentID: p.PaymentID, CardholderID: id2, ApplicationID: app2, AmountFen: 2000, PaidAt: testClock()}
	if c := problemCode(t, e.do(http.MethodPost, "/v1/fees/payments", "pos-key", reused, http.StatusConflict)); c != fees.CodePaymentIDReused {
		t.Fatalf("reused id: %s", c)
	}
	// A wrong amount is refused and frees its id for the corrected report.
	short := fees.Payment{PaymentID: "FS-9", CardholderID: id2, ApplicationID: app2, AmountFen: 1000, PaidAt: testClock()}
	if c := problemCode(t, e.do(http.MethodPost, "/v1/fees/payments", "pos-key", short, http.StatusConflict)); c != domain.CodeFeeAmountMismatch {
		t.Fatalf("short payment: %s", c)
	}
	short.AmountFen = 2000
	_ = json.Unmarshal(e.do(http.MethodPost, "/v1/fees/payments", "pos-key", short, http.StatusOK), &pa)
	if !pa.Recorded || paidEvents(e, id2) != 1 {
		t.Fatalf("corrected report %+v", pa)
	}
	// Only the pos role reports payments.
	e.do(http.MethodPost, "/v1/fees/payments", "counter-key", short, http.StatusForbidden)
}

// A POS that never acknowledges (garbage or a timeout on every try) is a
// clear refusal, and nothing is recorded.
func TestPOSThatNeverAcknowledgesIsAClearRefusal(t *testing.T) {
	for name, opts := range map[string]possim.Options{
		"garbage": {GarbageRate: 1},
		"timeout": {GarbageRate: 1, Stall: time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, opts, nil)
			id, _ := e.holder("")
			if c := problemCode(t, e.do(http.MethodPost, "/v1/cardholders/"+id+"/fee/collection", "counter-key", nil, http.StatusBadGateway)); c != fees.CodePOSUnavailable {
				t.Fatalf("code %s", c)
			}
			if errs := e.pos.Wait(); len(errs) != 0 || paidEvents(e, id) != 0 || !e.state(id).Card.Fee.Due() {
				t.Fatalf("something was paid: %v", errs)
			}
		})
	}
}

func TestDailyFeeReportAsJSONAndCSV(t *testing.T) {
	e := newEnv(t, possim.Options{Now: testClock}, nil)
	paid, paidApp := e.holder("")
	e.do(http.MethodPost, "/v1/cardholders/"+paid+"/fee/collection", "counter-key", nil, http.StatusAccepted)
	if errs := e.pos.Wait(); len(errs) != 0 {
		t.Fatal(errs)
	}
	due, dueApp := e.holder("")
	free, freeApp := e.holder(domain.FeeExemptHardship)
	if c := problemCode(t, e.do(http.MethodPost, "/v1/cardholders/"+free+"/fee/collection", "counter-key", nil, http.StatusConflict)); c != domain.CodeNoFeeDue {
		t.Fatalf("collection of an exempted fee: %s", c)
	}
	var r fees.DailyReport
	if err := json.Unmarshal(e.do(http.MethodGet, "/v1/fees/daily-report?date=2026-03-02", "counter-key", nil, http.StatusOK), &r); err != nil {
		t.Fatal(err)
	}
	if r.Assessed != (fees.FeeTotal{Count: 3, AmountFen: 6000}) || r.Due != (fees.FeeTotal{Count: 1, AmountFen: 2000}) ||
		r.Paid != (fees.FeeTotal{Count: 1, AmountFen: 2000}) || r.Exempted["hardship"] != (fees.FeeTotal{Count: 1, AmountFen: 2000}) ||
		len(r.Exempted) != 1 || len(r.Fees) != 3 {
		t.Fatalf("report %+v", r)
	}
	csv := string(e.do(http.MethodGet, "/v1/fees/daily-report?date=2026-03-02&format=csv", "counter-key", nil, http.StatusOK))
	for _, line := range []string{
		"application_id,cardholder_id,region_code,amount_fen,exemption,assessed_on,payment_id,paid_on",
		paidApp + "," + paid + ",440203,2000,,2026-03-02," + possim.PaymentID(paidApp) + ",2026-03-02",
		dueApp + "," + due + ",440203,2000,,2026-03-02,,",
		freeApp + "," + free + ",440203,2000,hardship,2026-03-02,,",
	} {
		if !strings.Contains(csv, line+"\n") {
			t.Errorf("CSV lacks %q:\n%s", line, csv)
		}
	}
	if err := json.Unmarshal(e.do(http.MethodGet, "/v1/fees/daily-report?date=2026-03-01", "counter-key", nil, http.StatusOK), &r); err != nil || len(r.Fees) != 0 {
		t.Fatalf("another day: %+v %v", r, err)
	}
	if err := json.Unmarshal(e.do(http.MethodGet, "/v1/fees/daily-report?date=2026-03-02", "other-key", nil, http.StatusOK), &r); err != nil || len(r.Fees) != 0 {
		t.Fatalf("another region's counter: %+v %v", r, err)
	}
	e.do(http.MethodGet, "/v1/fees/daily-report?date=2026-02-30", "counter-key", nil, http.StatusBadRequest)
}
