package fees

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// FeeTotal is a count of fees and their amount in fen.
type FeeTotal struct {
	Count     int   `json:"count"`
	AmountFen int64 `json:"amount_fen"`
}

func (t *FeeTotal) add(fen int64) { t.Count++; t.AmountFen += fen }

// DailyReport is the daily fee report (工本费日报) of one civil day in China.
type DailyReport struct {
	Date string `json:"date"`
	// Assessed are the fees recorded with a replacement that day; Exempted
	// those among them waived, by category; Due those still unpaid now.
	Assessed FeeTotal            `json:"assessed"`
	Exempted map[string]FeeTotal `json:"exempted"`
	Due      FeeTotal            `json:"due"`
	// Paid are the payments the POS reported for that day (whenever the fee was assessed).
	Paid FeeTotal       `json:"paid"`
	Fees []batch.FeeRow `json:"fees"`
}

// csvHeader is the first line of the CSV report (one line per fee).
const csvHeader = "application_id,cardholder_id,region_code,amount_fen,exemption,assessed_on,payment_id,paid_on"

func buildReport(day string, rows []batch.FeeRow) DailyReport {
	r := DailyReport{Date: day, Exempted: map[string]FeeTotal{}, Fees: rows}
	for _, f := range rows {
		if f.AssessedOn == day {
			r.Assessed.add(f.AmountFen)
			switch {
			case f.Exemption != "":
				t := r.Exempted[f.Exemption]
				t.add(f.AmountFen)
				r.Exempted[f.Exemption] = t
			case f.PaymentID == "":
				r.Due.add(f.AmountFen)
			}
		}
		if f.PaidOn == day {
			r.Paid.add(f.AmountFen)
		}
	}
	return r
}

func (a *API) reportRoute() httpapi.Route {
	example := buildReport("2026-03-02", []batch.FeeRow{
		{ApplicationID: "app-1", CardholderID: "0123456789abcdef0123456789abcdef", RegionCode: "440203", AmountFen: 2000,
			AssessedOn: "2026-03-02", PaymentID: "FS20260302-000123", PaidOn: "2026-03-02"},
		{ApplicationID: "app-2", CardholderID: "fedcba9876543210fedcba9876543210", RegionCode: "440203", AmountFen: 2000,
			Exemption: string(domain.FeeExemptElderly), AssessedOn: "2026-03-02"},
	})
	return httpapi.Route{
		Method: http.MethodGet, Path: "/v1/fees/daily-report", Roles: []httpapi.Role{httpapi.RoleCounter, httpapi.RoleAuditor},
		Summary: "The replacement fees of one day (工本费日报, China time): assessed, exempted by category, still due, paid. " +
			"JSON, or CSV (one line per fee) with format=csv or Accept: text/csv",
		Handler: a.report, Response: example,
		Responses: []httpapi.Response{{Status: http.StatusOK, ContentType: "text/csv",
			Body: csvHeader + "\napp-1,0123456789abcdef0123456789abcdef,440203,2000,,2026-03-02,FS20260302-000123,2026-03-02\n"}},
		Params: []httpapi.Param{
			httpapi.Query("date", "The day, YYYY-MM-DD (China); default today", "2026-03-02"),
			httpapi.Query("format", "csv for CSV; default JSON, or CSV when Accept asks for text/csv", "csv").OneOf("json", "csv"),
		},
	}
}

var chinaTime = time.FixedZone("CST", 8*60*60)

func (a *API) report(c echo.Context) error {
	ctx := c.Request().Context()
	day := c.QueryParam("date")
	if day == "" {
		day = time.Now().In(chinaTime).Format(domain.DateLayout)
	}
	if _, err := time.Parse(domain.DateLayout, day); err != nil {
		return httpapi.BadRequest("invalid_query", "date must be YYYY-MM-DD",
			httpapi.FieldError{Field: "date", Code: domain.CodeInvalidValue, Message: err.Error()})
	}
	if f := c.QueryParam("format"); f != "" && f != "csv" && f != "json" {
		return httpapi.BadRequest("invalid_query", "format is json or csv",
			httpapi.FieldError{Field: "format", Code: domain.CodeInvalidValue, Message: "json or csv"})
	}
	if a.caught != nil {
		if err := a.caught(ctx); err != nil {
			return err
		}
	}
	all, err := a.fees.FeesOn(ctx, day)
	if err != nil {
		return err
	}
	// A region-scoped counter sees its own region's fees only.
	p, _ := httpapi.PrincipalFrom(c)
	rows := []batch.FeeRow{}
	for _, f := range all {
		if p.Scope().CoversRegion(f.RegionCode) {
			rows = append(rows, f)
		}
	}
	if !wantsCSV(c) {
		return c.JSON(http.StatusOK, buildReport(day, rows))
	}
	c.Response().Header().Set(echo.HeaderContentType, "text/csv; charset=utf-8")
	c.Response().WriteHeader(http.StatusOK)
	w := csv.NewWriter(c.Response())
	_ = w.Write(strings.Split(csvHeader, ","))
	for _, f := range rows {
		_ = w.Write([]string{f.ApplicationID, f.CardholderID, f.RegionCode, strconv.FormatInt(f.AmountFen, 10), f.Exemption,
			f.AssessedOn, f.PaymentID, f.PaidOn})
	}
	w.Flush()
	return w.Error()
}

func wantsCSV(c echo.Context) bool {
	if f := c.QueryParam("format"); f != "" {
		return f == "csv"
	}
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/csv")
}
