package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

type client struct {
	t   *testing.T
	srv http.Handler
}

func (c client) do(method, path, contentType string, body []byte, wantStatus int, out any) http.Header {
	c.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer counter-key")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	c.srv.ServeHTTP(rec, req)
	if rec.Code != wantStatus {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body.String(), wantStatus)
	}
	if out != nil {
		if b, ok := out.(*[]byte); ok {
			*b = rec.Body.Bytes()
			return rec.Header()
		}
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, rec.Body.String())
		}
	}
	return rec.Header()
}

// pollJob reads the job resource until the job has finished.
func (c client) pollJob(path string) JobStatus {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var st JobStatus
		c.do(http.MethodGet, path, "", nil, http.StatusOK, &st)
		if st.State == JobFinished {
			return st
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s still %s after a minute: %+v", path, st.State, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pollImport reads the import job until it is no longer running.
func (c client) pollImport(path string) ImportJob {
	c.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		var job ImportJob
		c.do(http.MethodGet, path, "", nil, http.StatusOK, &job)
		if job.State != ImportRunning {
			return job
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s still running after a minute", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startWorker runs svc's job worker until the test ends, counting in m
// (optional).
func startWorker(t *testing.T, svc *Service, m ...*WorkerMetrics) {
	var metrics *WorkerMetrics
	if len(m) > 0 {
		metrics = m[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- svc.RunWorker(ctx, WorkerOptions{Poll: 50 * time.Millisecond, Log: quietLog(), Metrics: metrics})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("worker: %v", err)
		}
	})
}

func (c client) json(method, path string, body any, wantStatus int, out any) {
	c.t.Helper()
	data, _ := json.Marshal(body)
	c.do(method, path, "application/json", data, wantStatus, out)
}

func TestHTTPBatchRoundTripAndPSAMStock(t *testing.T) {
	e := newEnv(t)
	svc := e.service(t)
	srv := httpapi.NewServer(httpapi.Options{
		Auth:     httpapi.StaticAuthenticator{"counter-key": {Client: "counter-1", Role: httpapi.RoleCounter}},
		MapError: commands.ProblemFor,
		Log:      quietLog(),
	}, NewAPI(svc).Routes())
	c := client{t, srv}

	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, people(12, 0), files.EncodingUTF8); err != nil {
		t.Fatal(err)
	}
	// The import answers at once; the rows are imported in the background.
	var imp ImportJob
	h := c.do(http.MethodPost, "/v1/applications/imports", "text/csv", csv.Bytes(), http.StatusAccepted, &imp)
	if imp.State != ImportRunning || imp.Rows != 12 || h.Get("Location") != "/v1/applications/imports/"+imp.ImportID {
		t.Fatalf("import %+v location %q", imp, h.Get("Location"))
	}
	imp = c.pollImport(h.Get("Location"))
	if imp.State != ImportFinished || imp.Report == nil || imp.Report.Imported != 12 || imp.FinishedAt == nil {
		t.Fatalf("import %+v", imp)
	}
	c.do(http.MethodGet, "/v1/applications/imports/not-an-id", "", nil, http.StatusNotFound, nil)
	c.do(http.MethodGet, "/v1/applications/imports/"+uuid.NewString(), "", nil, http.StatusNotFound, nil)
	c.do(http.MethodPost, "/v1/applications/imports", "text/csv", []byte("x,y\n1,2\n"), http.StatusBadRequest, nil)

	var st BatchStatus
	c.json(http.MethodPost, "/v1/batches", createBody{BatchID: "H1", Filter: domain.BatchFilter{CommunityCode: "C1"}}, http.StatusCreated, &st)
	if st.Members != 3 || st.Step != domain.StepCreated {
		t.Fatalf("created %+v", st)
	}
	c.json(http.MethodPost, "/v1/batches/H1/confirm", confirmBody{ConfirmedBy: "x"}, http.StatusConflict, nil)
	c.json(http.MethodPost, "/v1/batches/H1/review", reviewBody{Reviewer: "r"}, http.StatusOK, &st)
	c.json(http.MethodPost, "/v1/batches/H1/confirm", confirmBody{ConfirmedBy: "x"}, http.StatusOK, &st)
	var bankFile []byte
	c.do(http.MethodPost, "/v1/batches/H1/exports/bank_open", "", nil, http.StatusOK, &bankFile)
	ret, err := simulate.Bank(bankFile, simulate.Options{FailRate: 0, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var rr ReturnReport
	c.do(http.MethodPost, "/v1/batches/returns", "text/plain", bytes.Replace(ret, []byte("|0|"), []byte("|2|"), 1), http.StatusBadRequest, nil)
	// No worker runs yet: the answer cannot have waited for the job.
	h = c.do(http.MethodPost, "/v1/batches/returns", "text/plain", ret, http.StatusAccepted, &rr)
	if !rr.Accepted || rr.OK != 3 || rr.Job == nil || rr.Job.State != JobRunning || rr.Job.Done != 0 || rr.Job.Items != 3 ||
		h.Get("Location") != "/v1/batches/H1/jobs/1" {
		t.Fatalf("return %+v location %q", rr, h.Get("Location"))
	}
	var running JobStatus
	c.do(http.MethodGet, "/v1/batches/H1/jobs/1", "", nil, http.StatusOK, &running)
	if running.State != JobRunning || running.Done != 0 {
		t.Fatalf("job before the worker %+v", running)
	}
	c.do(http.MethodGet, "/v1/batches/H1/jobs/2", "", nil, http.StatusNotFound, nil)
	c.do(http.MethodGet, "/v1/batches/H1/jobs/x", "", nil, http.StatusNotFound, nil)
	reg := prometheus.NewPedanticRegistry()
	metrics, err := NewWorkerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	startWorker(t, svc, metrics)
	job := c.pollJob("/v1/batches/H1/jobs/1")
	if job.Done != 3 || !reflect.DeepEqual(job.Counts, map[string]int{"account_opened": 3}) || len(job.Failures) != 0 || job.Retryable {
		t.Fatalf("finished job %+v", job)
	}
	// The worker counts the pass once the job is finished: poll for it.
	want := `
# HELP cardledger_batch_job_items_total Items of the jobs applied, by kind and outcome (the stage reached, handed_over, or failed).
# TYPE cardledger_batch_job_items_total counter
cardledger_batch_job_items_total{kind="` + string(job.Kind) + `",outcome="account_opened"} 3
# HELP cardledger_batch_jobs_total Batch jobs the worker applied to the end, by kind.
# TYPE cardledger_batch_jobs_total counter
cardledger_batch_jobs_total{kind="` + string(job.Kind) + `"} 1
`
	deadline := time.Now().Add(time.Minute)
	for testutil.GatherAndCompare(reg, strings.NewReader(want), "cardledger_batch_jobs_total", "cardledger_batch_job_items_total") != nil {
		if time.Now().After(deadline) {
			t.Fatal(testutil.GatherAndCompare(reg, strings.NewReader(want), "cardledger_batch_jobs_total", "cardledger_batch_job_items_total"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := testutil.ToFloat64(metrics.failed); n != 0 {
		t.Fatalf("failed passes %v", n)
	}
	// The same file again: the job is done, 200.
	c.do(http.MethodPost, "/v1/batches/returns", "text/plain", ret, http.StatusOK, &rr)
	if !rr.AlreadyAccepted || rr.Job == nil || rr.Job.State != JobFinished {
		t.Fatalf("again %+v", rr)
	}
	var ms []MemberStatus
	c.do(http.MethodGet, "/v1/batches/H1/members?stage=account_opened", "", nil, http.StatusOK, &ms)
	if len(ms) != 3 || ms[0].CardNo == "" {
		t.Fatalf("members %+v", ms)
	}
	c.do(http.MethodGet, "/v1/batches/nope", "", nil, http.StatusNotFound, nil)

	// PSAM: two cards in stock, one issued to an agency and then damaged.
	var p domain.PSAM
	c.json(http.MethodPost, "/v1/psam", psamStockInBody{Serial: "PS0001", Warehouse: "central", ReceivedOn: "2025-03-01"}, http.StatusCreated, &p)
	c.json(http.MethodPost, "/v1/psam", psamStockInBody{Serial: "PS0002", Warehouse: "central", ReceivedOn: "2025-03-01"}, http.StatusCreated, &p)
	c.json(http.MethodPost, "/v1/psam", psamStockInBody{Serial: "PS0002", Warehouse: "central", ReceivedOn: "2025-03-01"}, http.StatusConflict, nil)
	c.json(http.MethodPost, "/v1/psam/PS0001/issue", psamIssueBody{Agency: "bank-7", TerminalID: "T1", On: "2025-03-02"}, http.StatusOK, &p)
	c.json(http.MethodPost, "/v1/psam/PS0001/damage", psamReasonBody{Reason: "cracked", On: "2025-03-05"}, http.StatusOK, &p)
	c.json(http.MethodPost, "/v1/psam/PS0001/issue", psamIssueBody{Agency: "bank-8", On: "2025-03-06"}, http.StatusConflict, nil)
	var stock PSAMStock
	c.do(http.MethodGet, "/v1/psam/stock?agency=bank-7", "", nil, http.StatusOK, &stock)
	if len(stock.Cards) != 1 || stock.ByStatus["damaged"] != 1 || stock.Cards[0].TerminalID != "T1" {
		t.Fatalf("bank-7 stock %+v", stock)
	}
	c.do(http.MethodGet, "/v1/psam/stock", "", nil, http.StatusOK, &stock)
	if len(stock.Cards) != 1 || stock.Cards[0].Serial != "PS0002" || stock.ByStatus["in_stock"] != 1 {
		t.Fatalf("warehouse stock %+v", stock)
	}
}

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// X-Operator goes into every event a batch route appends, so it is checked
// as the commands API checks it: text that is not UTF-8 (it would be stored
// as U+FFFD) or not printable is refused and nothing is recorded.
func TestBatchRoutesRefuseAnUnusableOperator(t *testing.T) {
	e := newEnv(t)
	srv := httpapi.NewServer(httpapi.Options{
		Auth:     httpapi.StaticAuthenticator{"counter-key": {Client: "counter-1", Role: httpapi.RoleCounter}},
		MapError: commands.ProblemFor,
		Log:      quietLog(),
	}, NewAPI(e.service(t)).Routes())
	stockIn := `{"serial":"P001","warehouse":"W1","received_on":"2025-04-01"}`
	for _, op := range []string{"窗口\xe5", "a\x00b", strings.Repeat("x", 65)} {
		req := httptest.NewRequest(http.MethodPost, "/v1/psam", strings.NewReader(stockIn))
		req.Header.Set("Authorization", "Bearer counter-key")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(commands.HeaderOperator, op)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), `"code":"`+commands.CodeInvalidOperator+`"`) {
			t.Fatalf("operator %q: %d %s", op, rec.Code, rec.Body.String())
		}
	}
	c := client{t, srv}
	c.do(http.MethodGet, "/v1/psam/P001", "", nil, http.StatusNotFound, nil)
	c.do(http.MethodPost, "/v1/psam", "application/json", []byte(stockIn), http.StatusCreated, nil)
}
