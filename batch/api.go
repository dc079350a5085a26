package batch

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// API is the HTTP face of the batch workflow and PSAM stock.
type API struct {
	svc *Service
}

// NewAPI returns the API over svc (made with Open).
func NewAPI(svc *Service) *API { return &API{svc: svc} }

// maxFileBody bounds uploaded CSV and return files (100,000 rows fit easily).
const maxFileBody = 64 << 20

var (
	rolesOperate = []httpapi.Role{httpapi.RoleCounter}
	rolesReturns = []httpapi.Role{httpapi.RoleCounter, httpapi.RoleBank}
	rolesRead    = []httpapi.Role{httpapi.RoleCounter, httpapi.RoleAuditor}
	// A bank that offered a return follows the job it started.
	rolesJob = []httpapi.Role{httpapi.RoleCounter, httpapi.RoleBank, httpapi.RoleAuditor}
)

type createBody struct {
	BatchID string             `json:"batch_id,omitempty"`
	Filter  domain.BatchFilter `json:"filter,omitzero"` // none: every pending application
}
type reviewBody struct {
	Reviewer string `json:"reviewer"`
	Note     string `json:"note,omitempty"`
}
type confirmBody struct {
	ConfirmedBy string `json:"confirmed_by"`
}
type handOverBody struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Handler string `json:"handler"`
}
type pickUpBody struct {
	On     string `json:"on"`
	Agency string `json:"agency"`
}
type psamStockInBody struct {
	Serial     string `json:"serial"`
	Model      string `json:"model,omitempty"`
	Vendor     string `json:"vendor,omitempty"`
	Warehouse  string `json:"warehouse"`
	ReceivedOn string `json:"received_on"`
}
type psamIssueBody struct {
	Agency     string `json:"agency"`
	TerminalID string `json:"terminal_id,omitempty"`
	On         string `json:"on"`
}
type psamReturnBody struct {
	Warehouse string `json:"warehouse"`
	On        string `json:"on"`
}
type psamReasonBody struct {
	Reason string `json:"reason"`
	On     string `json:"on"`
}

// Routes is the route table of the batch API.
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/applications/imports", Roles: rolesOperate, MaxBody: maxFileBody, Status: http.StatusAccepted,
			Summary: "Import bulk applications from a CSV (UTF-8 or GB18030); checked as a whole, then 202 with the import job (Location), which runs in the background",
			Request: exampleCSV, RequestType: "text/csv", Params: operator, Handler: a.importApplications,
			Responses: []httpapi.Response{{Status: http.StatusAccepted, Body: exampleRunning, Headers: []httpapi.Param{httpapi.LocationHeader}}}},
		{Method: http.MethodGet, Path: "/v1/applications/imports/{id}", Roles: rolesRead,
			Summary:  "An import job: running, finished (with the per-row report), failed or interrupted",
			Response: exampleImport, Handler: a.importJob, Responses: httpapi.Problems(http.StatusNotFound)},
		{Method: http.MethodPost, Path: "/v1/batches", Roles: rolesOperate, Status: http.StatusCreated,
			Summary:  "Create a batch over the pending applications matching a filter",
			Request:  createBody{BatchID: "B20250301-01", Filter: domain.BatchFilter{RegionCode: "320505", Source: domain.SourceBatch}},
			Response: exampleCreated, Params: operator, Responses: refused, Handler: a.create},
		{Method: http.MethodGet, Path: "/v1/batches", Roles: rolesRead, Summary: "List batches", Handler: a.list, Response: exampleList},
		{Method: http.MethodGet, Path: "/v1/batches/{id}", Roles: rolesRead, Summary: "Batch status, counts per stage, running job, failures",
			Handler: a.batchRoute(a.status), Response: exampleStatus, Responses: httpapi.Problems(http.StatusNotFound)},
		{Method: http.MethodGet, Path: "/v1/batches/{id}/members", Roles: rolesRead, Summary: "Each member's production progress (?stage= filters)",
			Handler: a.batchRoute(a.members), Response: exampleMembers, Responses: httpapi.Problems(http.StatusNotFound),
			Params: []httpapi.Param{httpapi.Query("stage", "Only members at this stage", string(domain.MemberProduced))}},
		{Method: http.MethodPost, Path: "/v1/batches/{id}/review", Roles: rolesOperate, Summary: "Record the review of a batch (审核)",
			Request: reviewBody{Reviewer: "operator-7"}, Handler: a.batchRoute(a.review), Params: operator,
			Response: exampleCreated, Responses: refused},
		{Method: http.MethodPost, Path: "/v1/batches/{id}/confirm", Roles: rolesOperate, Summary: "Confirm a reviewed batch",
			Request: confirmBody{ConfirmedBy: "chief-2"}, Handler: a.batchRoute(a.confirm), Params: operator,
			Response: exampleCreated, Responses: refused},
		{Method: http.MethodPost, Path: "/v1/batches/{id}/exports/{kind}", Roles: rolesOperate,
			Summary: "Generate (and record) an export file: bank_open, production or bank_data; the same bytes every time",
			Handler: a.batchRoute(a.export), Params: operator, Responses: append([]httpapi.Response{
				{Status: http.StatusOK, ContentType: "text/plain", Body: exampleExport}}, refused...)},
		{Method: http.MethodPost, Path: "/v1/batches/returns", Roles: rolesReturns, MaxBody: maxFileBody, Status: http.StatusAccepted,
			Summary: "Offer a return file (bank or vendor); checked whole, then 202 with the job that applies it to every person in the background (Location: the job)",
			Request: exampleReturnFile, RequestType: "text/plain", Params: operator, Handler: a.importReturn,
			Responses: append([]httpapi.Response{
				{Status: http.StatusAccepted, Body: exampleReturn, Headers: []httpapi.Param{httpapi.LocationHeader}, Description: "Accepted; the job applies it"},
				{Status: http.StatusOK, Body: exampleReturn, Description: "Accepted and nothing left to apply (an activation return, or a job already finished)"}},
				refused...)},
		{Method: http.MethodPost, Path: "/v1/batches/{id}/handovers", Roles: rolesOperate, Status: http.StatusAccepted,
			Summary: "Hand the batch's cards to the next custodian (卡片交接); 202 with the job (Location)",
			Request: handOverBody{From: domain.CustodyVendor, To: "town-320505001", Handler: "courier-3"}, Responses: jobAnswers,
			Params: operator, Handler: a.batchRoute(a.handOver)},
		{Method: http.MethodPost, Path: "/v1/batches/{id}/pickup", Roles: rolesOperate, Status: http.StatusAccepted,
			Summary: "Batch pick-up (批量领取): issue every produced card; 202 with the job (Location)",
			Request: pickUpBody{On: "2025-03-20", Agency: "village-320505001001"}, Responses: jobAnswers, Params: operator,
			Handler: a.batchRoute(a.pickUp)},
		{Method: http.MethodPost, Path: "/v1/batches/{id}/resume", Roles: rolesOperate, Status: http.StatusAccepted,
			Summary: "Wake the job worker for the batch's running job (it also resumes by itself); 202 with the job, or 200 when none runs",
			Responses: append(jobAnswers[:1:1], httpapi.Response{Status: http.StatusOK, Body: map[string]string{"job": "none"},
				Description: "No job runs"}, httpapi.Response{Status: http.StatusNotFound}), Handler: a.batchRoute(a.resume)},
		{Method: http.MethodGet, Path: "/v1/batches/{id}/jobs/{job}", Roles: rolesJob,
			Summary:  "A job of the batch: state, progress, counts by outcome, the people whose cardholder refused their item",
			Response: exampleJob, Responses: httpapi.Problems(http.StatusNotFound), Handler: a.batchRoute(a.job)},
		{Method: http.MethodPost, Path: "/v1/batches/{id}/jobs/{job}/retry", Roles: rolesOperate, Status: http.StatusAccepted,
			Summary:   "Apply the failed items of the batch's last job again; 202 with the new job (Location), 200 when nothing is left to retry",
			Responses: jobAnswers, Params: operator, Handler: a.batchRoute(a.retry)},

		{Method: http.MethodPost, Path: "/v1/psam", Roles: rolesOperate, Status: http.StatusCreated, Summary: "Register a PSAM card into stock",
			Request: psamStockInBody{Serial: "PS00012345", Model: "M1", Warehouse: "central", ReceivedOn: "2025-03-01"}, Handler: a.psamStockIn,
			Response: domain.PSAM{Serial: "PS00012345", Status: domain.PSAMStatusInStock, Model: "M1", Warehouse: "central"},
			Params:   operator, Responses: httpapi.Problems(http.StatusConflict)},
		{Method: http.MethodGet, Path: "/v1/psam/stock", Roles: rolesRead, Summary: "PSAM cards of an agency (?agency=; none: the warehouse)",
			Handler: a.psamStock, Response: exampleStock,
			Params: []httpapi.Param{httpapi.Query("agency", "The agency; none: the warehouse stock", "bank-102-suzhou")}},
		{Method: http.MethodGet, Path: "/v1/psam/{serial}", Roles: rolesRead, Summary: "One PSAM card", Handler: a.psamGet,
			Response: examplePSAM, Responses: httpapi.Problems(http.StatusNotFound)},
		{Method: http.MethodPost, Path: "/v1/psam/{serial}/issue", Roles: rolesOperate, Summary: "Issue a PSAM card to an agency or terminal",
			Request:  psamIssueBody{Agency: "bank-102-suzhou", TerminalID: "T0001", On: "2025-03-02"},
			Response: examplePSAM, Params: operator, Responses: refused,
			Handler: psamRoute(a, func(serial string, b psamIssueBody) domain.PSAMCommand {
				return domain.IssuePSAM{Serial: serial, Agency: b.Agency, TerminalID: b.TerminalID, On: b.On}
			})},
		{Method: http.MethodPost, Path: "/v1/psam/{serial}/return", Roles: rolesOperate, Summary: "Return a PSAM card to stock",
			Request:  psamReturnBody{Warehouse: "central", On: "2025-04-01"},
			Response: domain.PSAM{Serial: "PS00012345", Status: domain.PSAMStatusInStock, Model: "M1", Warehouse: "central"},
			Params:   operator, Responses: refused,
			Handler: psamRoute(a, func(serial string, b psamReturnBody) domain.PSAMCommand {
				return domain.ReturnPSAM{Serial: serial, Warehouse: b.Warehouse, On: b.On}
			})},
		{Method: http.MethodPost, Path: "/v1/psam/{serial}/damage", Roles: rolesOperate, Summary: "Register a damaged PSAM card",
			Request: psamReasonBody{Reason: "cracked", On: "2025-04-01"},
			Response: domain.PSAM{Serial: "PS00012345", Status: domain.PSAMStatusDamaged, Model: "M1", Warehouse: "central",
				Agency: "bank-102-suzhou", Reason: "cracked"}, Params: operator, Responses: refused,
			Handler: psamRoute(a, func(serial string, b psamReasonBody) domain.PSAMCommand {
				return domain.ReportPSAMDamaged{Serial: serial, Reason: b.Reason, On: b.On}
			})},
		{Method: http.MethodPost, Path: "/v1/psam/{serial}/loss", Roles: rolesOperate, Summary: "Register a lost PSAM card",
			Request: psamReasonBody{Reason: "missing at inventory", On: "2025-04-01"},
			Response: domain.PSAM{Serial: "PS00012345", Status: domain.PSAMStatusLost, Model: "M1", Warehouse: "central",
				Agency: "bank-102-suzhou", Reason: "missing at inventory"}, Params: operator, Responses: refused,
			Handler: psamRoute(a, func(serial string, b psamReasonBody) domain.PSAMCommand {
				return domain.ReportPSAMLost{Serial: serial, Reason: b.Reason, On: b.On}
			})},
	}
}

// svcFor acts as the authenticated client and the operator it names
// (X-Operator, checked as the commands API checks it).
func (a *API) svcFor(c echo.Context) (*Service, error) {
	p, _ := httpapi.PrincipalFrom(c)
	op, err := commands.OperatorFrom(c)
	if err != nil {
		return nil, err
	}
	return a.svc.WithActor(domain.Actor{Client: p.Client, Operator: op}), nil
}

// fail maps errors to problems; unknown errors become 500.
func fail(err error) error {
	if errors.Is(err, ErrImportFile) {
		return httpapi.BadRequest("invalid_file", err.Error())
	}
	if p := commands.ProblemFor(err); p != nil {
		return p
	}
	return err
}

func readFile(c echo.Context) ([]byte, error) {
	data, err := io.ReadAll(c.Request().Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, httpapi.NewProblem(http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the file is over %d bytes", tooLarge.Limit))
		}
		return nil, err
	}
	if len(data) == 0 {
		return nil, httpapi.BadRequest("empty_body", "send the file as the request body")
	}
	return data, nil
}

func (a *API) importApplications(c echo.Context) error {
	data, err := readFile(c)
	if err != nil {
		return err
	}
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	job, err := svc.StartImport(c.Request().Context(), data)
	if err != nil {
		return fail(err)
	}
	c.Response().Header().Set("Location", "/v1/applications/imports/"+job.ImportID)
	return c.JSON(http.StatusAccepted, job)
}

func (a *API) importJob(c echo.Context) error {
	job, err := a.svc.ImportJob(c.Request().Context(), c.Param("id"))
	if err != nil {
		return fail(err)
	}
	return c.JSON(http.StatusOK, job)
}

// callerScope is the authenticated client's scope.
func callerScope(c echo.Context) httpapi.Scope {
	p, _ := httpapi.PrincipalFrom(c)
	return p.Scope()
}

// checkBatch refuses (403 scope_region) a region-bound caller a batch whose
// filter region is outside its region; a batch with no filter region spans
// every region and is only for unscoped callers. An unknown batch is 404 as
// for everyone. Batches carry no bank, so only the region is checked.
func (a *API) checkBatch(c echo.Context, batchID string) error {
	scope := callerScope(c)
	if scope.Region == "" {
		return nil
	}
	b, err := a.svc.getBatch(c.Request().Context(), batchID)
	if err != nil {
		return fail(err)
	}
	return scope.Check(b.Filter.RegionCode, "")
}

// batchRoute runs h after checkBatch on the {id} of the path.
func (a *API) batchRoute(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := a.checkBatch(c, c.Param("id")); err != nil {
			return err
		}
		return h(c)
	}
}

func (a *API) create(c echo.Context) error {
	var b createBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if err := callerScope(c).Check(b.Filter.RegionCode, ""); err != nil {
		return err
	}
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	batch, err := svc.CreateBatch(c.Request().Context(), b.BatchID, b.Filter)
	if err != nil {
		return fail(err)
	}
	st, err := a.svc.Status(c.Request().Context(), batch.ID)
	if err != nil {
		return fail(err)
	}
	return c.JSON(http.StatusCreated, st)
}

func (a *API) list(c echo.Context) error {
	ctx := c.Request().Context()
	if err := a.svc.catchUp(ctx); err != nil {
		return err
	}
	list, err := a.svc.readModel.Batches(ctx)
	if err != nil {
		return err
	}
	if scope := callerScope(c); scope.Region != "" {
		// The read model has no region; a county's batches are few, so
		// each one's filter is read from its stream.
		kept := list[:0]
		for _, b := range list {
			batch, err := a.svc.getBatch(ctx, b.BatchID)
			if err != nil {
				return fail(err)
			}
			if scope.CoversRegion(batch.Filter.RegionCode) {
				kept = append(kept, b)
			}
		}
		list = kept
	}
	if list == nil {
		list = []BatchSummary{}
	}
	return c.JSON(http.StatusOK, list)
}

func (a *API) status(c echo.Context) error {
	st, err := a.svc.Status(c.Request().Context(), c.Param("id"))
	if err != nil {
		return fail(err)
	}
	return c.JSON(http.StatusOK, st)
}

func (a *API) members(c echo.Context) error {
	ms, err := a.svc.Members(c.Request().Context(), c.Param("id"), domain.MemberStage(c.QueryParam("stage")))
	if err != nil {
		return fail(err)
	}
	return c.JSON(http.StatusOK, ms)
}

func (a *API) stepThen(c echo.Context, b *domain.Batch, err error) error {
	if err != nil {
		return fail(err)
	}
	st, err := a.svc.Status(c.Request().Context(), b.ID)
	if err != nil {
		return fail(err)
	}
	return c.JSON(http.StatusOK, st)
}

func (a *API) review(c echo.Context) error {
	var b reviewBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	batch, err := svc.Review(c.Request().Context(), c.Param("id"), b.Reviewer, b.Note)
	return a.stepThen(c, batch, err)
}

func (a *API) confirm(c echo.Context) error {
	var b confirmBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	batch, err := svc.Confirm(c.Request().Context(), c.Param("id"), b.ConfirmedBy)
	return a.stepThen(c, batch, err)
}

func (a *API) export(c echo.Context) error {
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	data, err := svc.Export(c.Request().Context(), c.Param("id"), domain.BatchFileKind(c.Param("kind")))
	if err != nil {
		return fail(err)
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s.txt"`, c.Param("id"), c.Param("kind")))
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", data)
}

func (a *API) importReturn(c echo.Context) error {
	data, err := readFile(c)
	if err != nil {
		return err
	}
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	rep, err := svc.AcceptReturn(c.Request().Context(), data)
	if err != nil {
		return fail(err)
	}
	if rep.Job == nil {
		return c.JSON(http.StatusOK, rep) // the activation return starts no job
	}
	return jobAccepted(c, rep.Job, rep)
}

// jobAccepted answers 202 with Location: the job, while it runs; 200 once
// it has finished (a repeated request).
func jobAccepted(c echo.Context, st *JobStatus, body any) error {
	c.Response().Header().Set("Location", fmt.Sprintf("/v1/batches/%s/jobs/%d", st.BatchID, st.Job))
	if st.State == JobFinished {
		return c.JSON(http.StatusOK, body)
	}
	return c.JSON(http.StatusAccepted, body)
}

func (a *API) handOver(c echo.Context) error {
	var b handOverBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	st, err := svc.StartHandOver(c.Request().Context(), c.Param("id"), b.From, b.To, b.Handler)
	if err != nil {
		return fail(err)
	}
	return jobAccepted(c, st, st)
}

func (a *API) pickUp(c echo.Context) error {
	var b pickUpBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	st, err := svc.StartPickUp(c.Request().Context(), c.Param("id"), b.On, b.Agency)
	if err != nil {
		return fail(err)
	}
	return jobAccepted(c, st, st)
}

func (a *API) resume(c echo.Context) error {
	b, err := a.svc.getBatch(c.Request().Context(), c.Param("id"))
	if err != nil {
		return fail(err)
	}
	if b.Job == nil {
		return c.JSON(http.StatusOK, map[string]string{"job": "none"})
	}
	a.svc.wakeWorker()
	st := jobStatus(b, b.Job.Seq)
	return jobAccepted(c, st, st)
}

// jobParam is the {job} of the path; a malformed one names no job.
func jobParam(c echo.Context) (int, error) {
	seq, err := strconv.Atoi(c.Param("job"))
	if err != nil || seq < 1 {
		return 0, fail(domain.NotFound(CodeJobNotFound, "no job %q", c.Param("job")))
	}
	return seq, nil
}

func (a *API) job(c echo.Context) error {
	seq, err := jobParam(c)
	if err != nil {
		return err
	}
	st, err := a.svc.Job(c.Request().Context(), c.Param("id"), seq)
	if err != nil {
		return fail(err)
	}
	return c.JSON(http.StatusOK, st)
}

func (a *API) retry(c echo.Context) error {
	seq, err := jobParam(c)
	if err != nil {
		return err
	}
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	st, err := svc.StartRetry(c.Request().Context(), c.Param("id"), seq)
	if err != nil {
		return fail(err)
	}
	return jobAccepted(c, st, st)
}

func (a *API) psamStockIn(c echo.Context) error {
	var b psamStockInBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	svc, err := a.svcFor(c)
	if err != nil {
		return err
	}
	p, err := svc.PSAMCommand(c.Request().Context(), b.Serial, domain.StockInPSAM{
		Serial: b.Serial, Model: b.Model, Vendor: b.Vendor, Warehouse: b.Warehouse, ReceivedOn: b.ReceivedOn})
	if err != nil {
		return fail(err)
	}
	return c.JSON(http.StatusCreated, p)
}

func psamRoute[B any](a *API, cmd func(serial string, b B) domain.PSAMCommand) echo.HandlerFunc {
	return func(c echo.Context) error {
		var b B
		if err := httpapi.DecodeJSON(c, &b); err != nil {
			return err
		}
		serial := c.Param("serial")
		svc, err := a.svcFor(c)
		if err != nil {
			return err
		}
		p, err := svc.PSAMCommand(c.Request().Context(), serial, cmd(serial, b))
		if err != nil {
			return fail(err)
		}
		return c.JSON(http.StatusOK, p)
	}
}

func (a *API) psamGet(c echo.Context) error {
	p, err := a.svc.PSAM(c.Request().Context(), c.Param("serial"))
	if err != nil {
		return fail(err)
	}
	return c.JSON(http.StatusOK, p)
}

func (a *API) psamStock(c echo.Context) error {
	st, err := a.svc.PSAMStock(c.Request().Context(), c.QueryParam("agency"))
	if err != nil {
		return fail(err)
	}
	return c.JSON(http.StatusOK, st)
}
