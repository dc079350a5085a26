package reconcile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/platform"
)

// Stable codes of the reconciliation API.
const (
	// CodeRejected: the settlement file is refused whole (400); errors[]
	// lists every problem by line and field.
	CodeRejected = "settlement_file_rejected"
	// CodeDifferent: another settlement file was imported for the day (409).
	CodeDifferent = "settlement_file_different"
	// CodeNoReport: no settlement file was imported for the day (404).
	CodeNoReport = "reconciliation_not_found"
)

// maxSettlementBody bounds a settlement file (about 600,000 lines).
const maxSettlementBody = 64 << 20

// API serves reconciliation over HTTP.
type API struct{ svc *Service }

// NewAPI serves svc.
func NewAPI(svc *Service) *API { return &API{svc: svc} }

// Routes is the route table of reconciliation: the merchant's payment apps
// (financial_payment), its integrator account, and administrators.
func (a *API) Routes() []httpapi.Route {
	roles := []httpapi.Role{httpapi.RoleIntegrator}
	apps := []string{domain.AppFinancialPayment}
	refusals := httpapi.Problems(http.StatusNotFound, http.StatusConflict) // merchant_not_found; merchant_app_not_bound
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/payment/merchants/{id}/statements/{date}", Roles: roles, AppTypes: apps,
			Summary: "The merchant's daily file (商户对账文件) of a Beijing-time day: every payment and refund, CLR1 framing " +
				"with count and checksum (docs/platform.md)",
			Responses: append([]httpapi.Response{{Status: http.StatusOK, ContentType: "text/plain", Body: exampleDaily,
				Description: "The daily file"}}, refusals...), Handler: a.daily},
		{Method: http.MethodGet, Path: "/v1/payment/merchants/{id}/statements/{date}/totals", Roles: roles, AppTypes: apps,
			Summary:  "The day's totals of the merchant: payments, refunds and net, in fen, and the daily file's SHA-256",
			Response: exampleStatement, Responses: refusals, Handler: a.totals},
		{Method: http.MethodPost, Path: "/v1/payment/merchants/{id}/settlements", Roles: roles, AppTypes: apps, Status: http.StatusCreated,
			MaxBody: maxSettlementBody,
			Summary: "Import the bank's settlement file of a day (its header names the merchant and the day): checked whole " +
				"(400 settlement_file_rejected, nothing recorded), matched against our payments and refunds; the report " +
				"lists what is missing on either side and what differs. The same file again answers the stored report " +
				"(200); another file for a day already reconciled is 409 settlement_file_different",
			Request: exampleSettlement, RequestType: "text/plain", Response: exampleReport, Handler: a.importSettlement,
			Responses: append([]httpapi.Response{{Status: http.StatusOK, Body: exampleReport,
				Description: "This very file was imported before: its stored report, unchanged"}},
				refusals...)},
		{Method: http.MethodGet, Path: "/v1/payment/merchants/{id}/settlements/{date}", Roles: roles, AppTypes: apps,
			Summary:  "The reconciliation report of the day: both sides' totals, matched count, every mismatch",
			Response: exampleReport, Responses: refusals, Handler: a.report},
		{Method: http.MethodGet, Path: "/v1/payment/merchants/{id}/settlements/{date}/mismatches.csv", Roles: roles, AppTypes: apps,
			Summary: "The report's mismatches as CSV, one row per mismatch",
			Responses: append([]httpapi.Response{{Status: http.StatusOK, ContentType: "text/csv", Body: exampleCSV,
				Description: "The mismatches"}}, refusals...), Handler: a.reportCSV},
	}
}

// merchant finds the merchant of the path and checks the caller may reach
// it, as the payments API does: another account's merchant is not found
// (its existence is nobody else's business); an app of the account must
// also be bound to it (409 merchant_app_not_bound).
func (a *API) merchant(c echo.Context) (Merchant, error) {
	notFound := httpapi.NotFound(domain.CodeMerchantNotFound, "no such merchant")
	m, err := a.svc.Merchant(c.Request().Context(), c.Param("id"))
	if errors.Is(err, ErrNoMerchant) {
		return Merchant{}, notFound
	}
	if err != nil {
		return Merchant{}, err
	}
	p, _ := httpapi.PrincipalFrom(c)
	if p.Role == httpapi.RoleAdmin {
		return m, nil
	}
	if p.Account == "" || p.Account != m.AccountID {
		return Merchant{}, notFound
	}
	if app, ok := platform.AppIDOf(p.Client); p.Role == httpapi.RoleApp && (!ok || !slices.Contains(m.AppIDs, app)) {
		return Merchant{}, httpapi.Conflict(domain.CodeMerchantAppNotBound, "the merchant is not bound to this app")
	}
	return m, nil
}

// dayParam is the {date} of the path.
func dayParam(c echo.Context) (Day, error) {
	d, err := ParseDay(c.Param("date"))
	if err != nil {
		return Day{}, httpapi.BadRequest(httpapi.CodeInvalid, "the date is not a day YYYY-MM-DD",
			httpapi.FieldError{Field: "date", Code: CodeBadDate, Message: err.Error()})
	}
	return d, nil
}

func (a *API) statement(c echo.Context) (*Statement, error) {
	m, err := a.merchant(c)
	if err != nil {
		return nil, err
	}
	d, err := dayParam(c)
	if err != nil {
		return nil, err
	}
	return a.svc.Daily(c.Request().Context(), m.ID, d)
}

func (a *API) daily(c echo.Context) error {
	st, err := a.statement(c)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s.txt"`, st.MerchantID, st.Date))
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", st.File)
}

func (a *API) totals(c echo.Context) error {
	st, err := a.statement(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

func (a *API) importSettlement(c echo.Context) error {
	m, err := a.merchant(c)
	if err != nil {
		return err
	}
	data, err := io.ReadAll(c.Request().Body)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return httpapi.NewProblem(http.StatusRequestEntityTooLarge, httpapi.CodeBodyTooLarge, fmt.Sprintf("the file is over %d bytes", tooLarge.Limit))
	}
	if err != nil {
		return err
	}
	if len(data) == 0 {
		return httpapi.BadRequest(httpapi.CodeEmptyBody, "send the settlement file as the request body")
	}
	p, _ := httpapi.PrincipalFrom(c)
	r, replayed, err := a.svc.Import(c.Request().Context(), m.ID, data, p.Client)
	var re *RejectedError
	switch {
	case errors.As(err, &re):
		fields := make([]httpapi.FieldError, len(re.Problems))
		for i, p := range re.Problems {
			fields[i] = httpapi.FieldError{Field: p.Where(), Code: p.Code, Message: p.Message}
		}
		return httpapi.BadRequest(CodeRejected, fmt.Sprintf("settlement file rejected: %d problem(s); nothing was recorded", len(fields)), fields...)
	case errors.Is(err, ErrDifferentFile):
		return httpapi.Conflict(CodeDifferent, err.Error()+"; the day's report stands")
	case err != nil:
		return err
	case replayed:
		return c.JSON(http.StatusOK, r)
	}
	return c.JSON(http.StatusCreated, r)
}

func (a *API) storedReport(c echo.Context) (*DayReport, error) {
	m, err := a.merchant(c)
	if err != nil {
		return nil, err
	}
	d, err := dayParam(c)
	if err != nil {
		return nil, err
	}
	r, err := a.svc.Report(c.Request().Context(), m.ID, d)
	if errors.Is(err, ErrNoReport) {
		return nil, httpapi.NotFound(CodeNoReport, fmt.Sprintf("no settlement file was imported for %s on %s", m.ID, d))
	}
	return r, err
}

func (a *API) report(c echo.Context) error {
	r, err := a.storedReport(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, r)
}

func (a *API) reportCSV(c echo.Context) error {
	r, err := a.storedReport(c)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s.mismatches.csv"`, r.MerchantID, r.Date))
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

// Examples of the document: one day of a pharmacy with a mismatch of each kind.
var (
	exampleDay, _   = ParseDay("2026-12-05")
	exampleMerchant = "3f1c2a9e-7b4d-5e6f-8a9b-0c1d2e3f4a5b"
	exampleTxns     = []Txn{
		{BankCode: "102", BankTxnID: "ICBC20261205000187", Type: TxnPayment, OrderID: "9b2f7c1e-3d4a-5b6c-8d9e-0f1a2b3c4d5e",
			MerchantOrderNo: "RX20261205-0031", AmountFen: 4580, At: time.Date(2026, 12, 5, 9, 12, 40, 0, Beijing)},
		{BankCode: "102", BankTxnID: "ICBC20261205000412", Type: TxnPayment, OrderID: "1c3e5a7b-9d2f-5b4c-8e6a-7f9b1d3c5e7a",
			MerchantOrderNo: "RX20261205-0044", AmountFen: 1200, At: time.Date(2026, 12, 5, 10, 3, 5, 0, Beijing)},
		{BankCode: "103", BankTxnID: "ABC8873100029", Type: TxnRefund, OrderID: "5d7f9b1c-3e5a-5c6d-9f8b-2a4c6e8f0b1d",
			MerchantOrderNo: "RX20261204-0102", RefundNo: "RF-0102-1", AmountFen: 300, At: time.Date(2026, 12, 5, 15, 45, 0, 0, Beijing)},
	}
	exampleLines = []SettlementLine{
		{Line: 2, BankCode: "102", BankTxnID: "ICBC20261205000187", Type: TxnPayment, OrderID: exampleTxns[0].OrderID, AmountFen: 4580},
		{Line: 3, BankCode: "102", BankTxnID: "ICBC20261205000412", Type: TxnPayment, OrderID: exampleTxns[1].OrderID, AmountFen: 1020},
		{Line: 4, BankCode: "102", BankTxnID: "ICBC20261205000999", Type: TxnPayment, OrderID: "", AmountFen: 2500},
	}
	exampleDaily      = string(must(WriteDaily(exampleMerchant, exampleDay, exampleTxns)))
	exampleSettlement = string(must(WriteSettlement(exampleMerchant, exampleDay, exampleLines)))
	exampleStatement  = Statement{MerchantID: exampleMerchant, Date: exampleDay.String(), Totals: TotalsOf(exampleTxns),
		SHA256: "4c1f0e0f5a3b1d8e2f7a6c9b0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e"}
	exampleReport = &DayReport{MerchantID: exampleMerchant, Date: exampleDay.String(),
		SHA256: "7a0c5e1b2d3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b", Lines: len(exampleLines),
		ImportedAt: time.Date(2026, 12, 6, 1, 30, 0, 0, time.UTC), ImportedBy: "app-8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
		Outcome: Match(exampleTxns, exampleLines)}
	exampleCSV = func() string {
		var b bytes.Buffer
		_ = WriteCSV(&b, exampleReport)
		return b.String()
	}()
)

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
