package analytics

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/shopspring/decimal"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/unavailable"
)

// API serves usage ingest, the analyses and the dashboard.
//
// Who may call what:
//   - POST /v1/usage: the systems that settle or serve with the card report
//     usage with role bank (cooperating banks' settlement) or counter
//     (service halls, hospital and pharmacy settlement gateways are
//     registered as counter clients); admin may too.
//   - GET /v1/analytics/...: role analyst (and admin). A region-bound
//     analyst sees only people whose home region (as projected) is in its
//     region: per-person history and profile of others are 403
//     scope_region, the top-people list keeps only its people. Banks are
//     not projected, so a bank-bound analyst is refused (403 scope_bank)
//     every per-person route and the top-people list. City-wide aggregates
//     name no person and are not scoped.
//   - GET /dashboard and its script and ECharts: public (they hold no data).
//     GET /dashboard/data serves only city-wide aggregates (flows between
//     cities, monthly totals, categories, lifecycle counts, blacklist size,
//     lag), nothing about any person, but still to a key: analyst (or
//     admin) as a bearer key, or a display client's key in
//     ?display_token= (a hall screen cannot send headers; the page passes
//     its own ?display_token= on). DashboardPublic drops the key.
type API struct {
	ingester *Ingester
	queries  *Queries
	lag      LagFunc
	now      func() time.Time
	screen   Screen
}

// Screen configures the dashboard (the hall screen).
type Screen struct {
	CityName string // shown in its title
	Public   bool   // serve its data without a key
}

// WithScreen sets the dashboard's configuration and returns a.
func (a *API) WithScreen(s Screen) *API {
	a.screen = s
	return a
}

// LagFunc reports how far the analytics projection is behind the store.
type LagFunc func(ctx context.Context) (Lag, error)

// Lag is the projection's distance from the head of the event store.
type Lag struct {
	Seconds    float64 `json:"seconds"`    // recorded time of the head minus that of the checkpoint
	CaughtUp   bool    `json:"caught_up"`  // the checkpoint is the head
	Checkpoint string  `json:"checkpoint"` // opaque position
}

// NewAPI returns the API. ingester may be nil on a read-only instance (no
// POST /v1/usage then); lag may be nil (the dashboard shows no lag); now is
// the clock for default windows (nil: time.Now).
func NewAPI(ingester *Ingester, queries *Queries, lag LagFunc, now func() time.Time) *API {
	if now == nil {
		now = time.Now
	}
	return &API{ingester: ingester, queries: queries, lag: lag, now: now}
}

var analystRoles = []httpapi.Role{httpapi.RoleAnalyst}

// Routes is the API's route table.
func (a *API) Routes() []httpapi.Route {
	var routes []httpapi.Route
	if a.ingester != nil {
		routes = append(routes, httpapi.Route{
			Method: http.MethodPost, Path: "/v1/usage", Roles: []httpapi.Role{httpapi.RoleBank, httpapi.RoleCounter},
			Summary: "Report card usage records (up to 10,000 per call; retries record nothing twice)",
			Handler: a.postUsage, Request: exampleUsageRequest(), Response: UsageResponse{Recorded: 1, Position: "2ded3-2ded3"},
			Responses: []httpapi.Response{{Status: http.StatusUnprocessableEntity, Body: exampleRejected, ContentType: httpapi.ProblemContentType,
				Description: "Some records were refused (errors[] names each; the others were recorded), or, with all_or_nothing, none was recorded"}},
			MaxBody: 16 << 20,
		})
	}
	get := func(path, summary string, h echo.HandlerFunc, example any) httpapi.Route {
		return httpapi.Route{Method: http.MethodGet, Path: path, Roles: analystRoles, Summary: summary,
			Handler: h, Response: example, Params: append(append([]httpapi.Param{}, window...), extraParams[path]...),
			Responses: []httpapi.Response{{Status: http.StatusOK, ContentType: "text/csv", Body: exampleCSV}}}
	}
	routes = append(routes,
		get("/v1/analytics/flows", "Cross-region flow matrix: home city → city of use (JSON or CSV)", a.getFlows, exampleFlows),
		get("/v1/analytics/spending", "City-wide spending by month, local vs remote (by=month)", a.getSpending, exampleSpending),
		get("/v1/analytics/categories", "Main spending categories", a.getCategories, exampleCats),
		get("/v1/analytics/usage-stats", "Usage totals, counts by kind, identity-auth and rights-query counts, per-person averages", a.getStats, exampleStats),
		get("/v1/analytics/usage-stats/people", "Per-person usage: the people with the most uses", a.getTopPeople, exampleTop),
		get("/v1/analytics/cross-region", "Frequency of use outside the home city, per home city", a.getCrossRegion, exampleCross),
		get("/v1/analytics/lifecycle", "Issuance and blacklist figures by month", a.getLifecycle, exampleLifecycle),
		get("/v1/analytics/people/{cardholder_id}/history", "A person's card-use history (用卡历程)", a.getHistory, exampleUses),
		get("/v1/analytics/people/{cardholder_id}/profile", "A person's behaviour profile", a.getProfile, exampleProfile),
		get("/v1/analytics/cards/{card_no}/history", "One card's use history", a.getHistory, exampleUses),
		get("/v1/analytics/cards/{card_no}/profile", "One card's behaviour profile", a.getProfile, exampleProfile),
	)
	routes = append(routes, a.dashboardRoutes()...)
	for i, r := range routes {
		if r.Path != "/v1/usage" { // ingest writes to the event store only
			routes[i].Handler = onClickHouse(r.Handler)
		}
	}
	return routes
}

// onClickHouse names ClickHouse as the dependency of an outage the driver
// reports as a plain network error, so the 503 says what is down.
func onClickHouse(h echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		return unavailable.Default(unavailable.ClickHouse, h(c))
	}
}

// UsageRequest is the body of POST /v1/usage.
type UsageRequest struct {
	Records []domain.UsageInput `json:"records"`
	// AllOrNothing: one invalid record and nothing is recorded. It is a
	// validation rule, not a transaction: a valid batch is written in many
	// appends, and after a failure part-way the same batch is sent again
	// (records already stored count as duplicates). A record id that
	// another card-month holds is found only when its append is refused
	// (see Ingester), after other records were written: the answer is then
	// usage_records_rejected with the counts.
	AllOrNothing bool `json:"all_or_nothing,omitempty"`
}

// UsageResponse counts what happened to a batch. It is the body of a 200,
// and its counts are also in the problem body of a 422.
type UsageResponse struct {
	Recorded   int `json:"recorded"`
	Duplicates int `json:"duplicates"`
	Rejected   int `json:"rejected"`
	// Position is the global position of the last event written, for
	// read-your-writes waits on the projections; absent when none was.
	Position string `json:"position,omitempty"`
}

// UsageProblem is the 422 body when records were refused: a problem whose
// errors name each bad record's field as records[i].field.
type UsageProblem struct {
	httpapi.Problem
	UsageResponse
}

// Problem codes of POST /v1/usage.
const (
	CodeUsageRecordsRejected = "usage_records_rejected" // some records refused, the others recorded
	CodeUsageBatchRejected   = "usage_batch_rejected"   // all_or_nothing and some record is bad: nothing recorded
	CodeTooManyRecords       = "too_many_records"
)

func exampleUsageRequest() UsageRequest {
	return UsageRequest{Records: []domain.UsageInput{{
		ID: "hosp-42-000123", CardNo: "A12345678", At: "2025-03-10T09:30:00+08:00", Kind: "medical_settlement",
		Amount: "128.40", RegionCode: "320508", Merchant: "苏州市立医院", Category: "medical_treatment", Channel: "card",
	}}}
}

func (a *API) postUsage(c echo.Context) error {
	var req UsageRequest
	if err := httpapi.DecodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Records) == 0 {
		return httpapi.BadRequest(httpapi.CodeInvalid, "records is empty",
			httpapi.FieldError{Field: "records", Code: domain.CodeRequired, Message: "at least one record is required"})
	}
	if len(req.Records) > MaxUsageBatch {
		return httpapi.BadRequest(CodeTooManyRecords, fmt.Sprintf("%d records; at most %d per call", len(req.Records), MaxUsageBatch))
	}
	actor := domain.Actor{}
	if p, ok := httpapi.PrincipalFrom(c); ok {
		actor.Client = p.Client
	}
	res, err := a.ingester.Ingest(c.Request().Context(), req.Records, req.AllOrNothing, actor)
	if err != nil {
		return err
	}
	counts := UsageResponse{Recorded: res.Recorded, Duplicates: res.Duplicates, Rejected: len(res.Rejected)}
	if res.Position != eventstore.Start {
		counts.Position = res.Position.String()
	}
	if len(res.Rejected) == 0 {
		return c.JSON(http.StatusOK, counts)
	}
	var fields []httpapi.FieldError
	for _, r := range res.Rejected {
		for _, f := range r.Fields {
			fields = append(fields, httpapi.FieldError{
				Field: fmt.Sprintf("records[%d].%s", r.Index, f.Field), Code: f.Code, Message: f.Message,
			})
		}
	}
	code, detail := CodeUsageRecordsRejected,
		fmt.Sprintf("%d of %d records were refused; the others were recorded", len(res.Rejected), len(req.Records))
	// all_or_nothing refuses invalid batches before writing; a reused record
	// id (duplicate_id) shows only when its append is refused, after the
	// batch's other records were written, and then the answer says so.
	if req.AllOrNothing && res.Recorded == 0 {
		code, detail = CodeUsageBatchRejected,
			fmt.Sprintf("%d of %d records are invalid; nothing was recorded (all_or_nothing)", len(res.Rejected), len(req.Records))
	}
	p := httpapi.NewProblem(http.StatusUnprocessableEntity, code, detail, fields...)
	p.RequestID = httpapi.RequestID(c)
	body, err := json.Marshal(UsageProblem{Problem: *p, UsageResponse: counts})
	if err != nil {
		return err
	}
	return c.Blob(http.StatusUnprocessableEntity, httpapi.ProblemContentType, body)
}

// Response bodies of the analyses.
type (
	FlowsResponse struct {
		Flows []Flow `json:"flows"`
	}
	SpendingResponse struct {
		Rows []SpendingMonth `json:"rows"`
	}
	CategoriesResponse struct {
		Categories []Category `json:"categories"`
	}
	CrossRegionResponse struct {
		Total  CrossRegion   `json:"total"`
		ByHome []CrossRegion `json:"by_home"`
	}
	TopPeopleResponse struct {
		People []PersonStats `json:"people"`
	}
	LifecycleResponse struct {
		Rows []LifecycleMonth `json:"rows"`
	}
	HistoryResponse struct {
		Uses []Use `json:"uses"`
	}
)

// maxWindowDays bounds a window so that a typo cannot scan decades.
const maxWindowDays = 3700

// window reads from and to (YYYY-MM-DD, both included). Missing to is
// today in China; missing from is the first day of the month eleven months
// before to, so the default is a year of whole months.
func (a *API) window(c echo.Context) (Window, error) {
	var fields []httpapi.FieldError
	parse := func(name string) (time.Time, bool) {
		s := c.QueryParam(name)
		if s == "" {
			return time.Time{}, false
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			fields = append(fields, httpapi.FieldError{Field: name, Code: domain.CodeInvalidValue, Message: "want a date YYYY-MM-DD"})
			return time.Time{}, false
		}
		return t, true
	}
	to, ok := parse("to")
	if !ok {
		y, m, d := a.now().In(domain.ChinaTime()).Date()
		to = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	from, ok := parse("from")
	if !ok {
		from = time.Date(to.Year(), to.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -11, 0)
	}
	if len(fields) == 0 {
		switch {
		case from.After(to):
			fields = append(fields, httpapi.FieldError{Field: "from", Code: domain.CodeInvalidValue, Message: "from is after to"})
		case to.Sub(from) > maxWindowDays*24*time.Hour:
			fields = append(fields, httpapi.FieldError{Field: "from", Code: domain.CodeInvalidValue,
				Message: fmt.Sprintf("the window is longer than %d days", maxWindowDays)})
		}
	}
	if len(fields) > 0 {
		return Window{}, httpapi.BadRequest(httpapi.CodeInvalidQuery, "bad time window", fields...)
	}
	return Window{From: from, To: to}, nil
}

// intParam reads an optional positive integer up to max.
func intParam(c echo.Context, name string, def, max int) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > max {
		return 0, httpapi.BadRequest(httpapi.CodeInvalidQuery, "bad "+name,
			httpapi.FieldError{Field: name, Code: domain.CodeInvalidValue, Message: fmt.Sprintf("want an integer from 1 to %d", max)})
	}
	return n, nil
}

// wantsCSV: ?format=csv or an Accept header that prefers text/csv.
func wantsCSV(c echo.Context) (bool, error) {
	switch c.QueryParam("format") {
	case "csv":
		return true, nil
	case "json":
		return false, nil
	case "":
		return strings.HasPrefix(c.Request().Header.Get(echo.HeaderAccept), "text/csv"), nil
	}
	return false, httpapi.BadRequest(httpapi.CodeInvalidQuery, "bad format",
		httpapi.FieldError{Field: "format", Code: domain.CodeInvalidValue, Message: "want json or csv"})
}

// reply sends body as JSON, or as CSV (header row first) when asked.
func reply(c echo.Context, body any, header []string, rows func(add func(...string))) error {
	asCSV, err := wantsCSV(c)
	if err != nil {
		return err
	}
	if !asCSV {
		return c.JSON(http.StatusOK, body)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(header)
	rows(func(cells ...string) { _ = w.Write(cells) })
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}

func u64(n uint64) string { return strconv.FormatUint(n, 10) }

func (a *API) getFlows(c echo.Context) error {
	w, err := a.window(c)
	if err != nil {
		return err
	}
	flows, err := a.queries.Flows(c.Request().Context(), w)
	if err != nil {
		return err
	}
	return reply(c, FlowsResponse{Flows: flows}, []string{"home_region", "use_region", "count", "amount"}, func(add func(...string)) {
		for _, f := range flows {
			add(f.HomeRegion, f.UseRegion, u64(f.Count), f.Amount)
		}
	})
}

func (a *API) getSpending(c echo.Context) error {
	if by := c.QueryParam("by"); by != "" && by != "month" {
		return httpapi.BadRequest(httpapi.CodeInvalidQuery, "bad grouping",
			httpapi.FieldError{Field: "by", Code: domain.CodeInvalidValue, Message: "only by=month is supported"})
	}
	w, err := a.window(c)
	if err != nil {
		return err
	}
	rows, err := a.queries.Spending(c.Request().Context(), w)
	if err != nil {
		return err
	}
	return reply(c, SpendingResponse{Rows: rows}, []string{"month", "local_amount", "remote_amount", "count"}, func(add func(...string)) {
		for _, r := range rows {
			add(r.Month, r.LocalAmount, r.RemoteAmount, u64(r.Count))
		}
	})
}

func (a *API) getCategories(c echo.Context) error {
	w, err := a.window(c)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 20, 1000)
	if err != nil {
		return err
	}
	cats, err := a.queries.Categories(c.Request().Context(), w, limit)
	if err != nil {
		return err
	}
	return reply(c, CategoriesResponse{Categories: cats}, []string{"category", "count", "amount"}, func(add func(...string)) {
		for _, k := range cats {
			add(k.Category, u64(k.Count), k.Amount)
		}
	})
}

func (a *API) getStats(c echo.Context) error {
	w, err := a.window(c)
	if err != nil {
		return err
	}
	s, err := a.queries.Stats(c.Request().Context(), w)
	if err != nil {
		return err
	}
	// CSV: one row per kind and a total row; people and averages are JSON only.
	return reply(c, s, []string{"kind", "count", "amount"}, func(add func(...string)) {
		for _, k := range s.ByKind {
			add(k.Kind, u64(k.Count), k.Amount)
		}
		add("total", u64(s.Count), s.Amount)
	})
}

func (a *API) getTopPeople(c echo.Context) error {
	w, err := a.window(c)
	if err != nil {
		return err
	}
	top, err := intParam(c, "top", 20, 1000)
	if err != nil {
		return err
	}
	scope := principalScope(c)
	if scope.Bank != "" {
		// The projection does not know banks: a bank-bound analyst may not
		// see a list of people at all.
		return &httpapi.ScopeError{Code: httpapi.CodeScopeBank, Scope: scope}
	}
	people, err := a.queries.TopPeople(c.Request().Context(), w, top, httpapi.RegionPrefix(scope.Region))
	if err != nil {
		return err
	}
	return reply(c, TopPeopleResponse{People: people},
		[]string{"cardholder_id", "count", "amount", "identity_auths", "rights_queries"}, func(add func(...string)) {
			for _, p := range people {
				add(p.CardholderID, u64(p.Count), p.Amount, u64(p.IdentityAuths), u64(p.RightsQueries))
			}
		})
}

func (a *API) getCrossRegion(c echo.Context) error {
	w, err := a.window(c)
	if err != nil {
		return err
	}
	byHome, err := a.queries.CrossRegionUse(c.Request().Context(), w)
	if err != nil {
		return err
	}
	total := CrossRegion{HomeRegion: "total"}
	remoteAmount := decimal.Zero
	for _, r := range byHome {
		total.Count += r.Count
		total.RemoteCount += r.RemoteCount
		total.RemotePeople += r.RemotePeople
		remoteAmount = remoteAmount.Add(decimal.RequireFromString(r.RemoteAmount)) // formatted by Queries
	}
	total.RemoteAmount = remoteAmount.StringFixed(2)
	total.RemoteShare = share(total.RemoteCount, total.Count)
	return reply(c, CrossRegionResponse{Total: total, ByHome: byHome},
		[]string{"home_region", "count", "remote_count", "remote_share", "remote_amount", "remote_people"},
		func(add func(...string)) {
			for _, r := range append([]CrossRegion{total}, byHome...) {
				add(r.HomeRegion, u64(r.Count), u64(r.RemoteCount), r.RemoteShare, r.RemoteAmount, u64(r.RemotePeople))
			}
		})
}

func (a *API) getLifecycle(c echo.Context) error {
	w, err := a.window(c)
	if err != nil {
		return err
	}
	rows, err := a.queries.Lifecycle(c.Request().Context(), w)
	if err != nil {
		return err
	}
	return reply(c, LifecycleResponse{Rows: rows},
		[]string{"month", "registered", "applied", "issued", "lost", "temporarily_lost", "unlocked", "cancelled",
			"replacements", "ecards_issued", "blacklist_added", "blacklist_removed", "blacklist_size",
			// Newer counts last: CSV readers that go by position keep working.
			"transferred_in", "transferred_out", "migrated"},
		func(add func(...string)) {
			for _, r := range rows {
				add(r.Month, u64(r.Registered), u64(r.Applied), u64(r.Issued), u64(r.Lost), u64(r.TemporarilyLost),
					u64(r.Unlocked), u64(r.Cancelled), u64(r.Replacements), u64(r.ECardsIssued),
					u64(r.BlacklistAdded), u64(r.BlacklistRemoved), strconv.FormatInt(r.BlacklistSize, 10),
					u64(r.TransferredIn), u64(r.TransferredOut), u64(r.Migrated))
			}
		})
}

// person reads whose history a request asks for.
func person(c echo.Context) (Person, error) {
	if no := c.Param("card_no"); no != "" {
		if err := domain.ValidateCardNo(no); err != nil {
			return Person{}, httpapi.BadRequest(httpapi.CodeInvalid, "bad card number",
				httpapi.FieldError{Field: "card_no", Code: domain.CodeInvalidCardNo, Message: err.Error()})
		}
		return Person{CardNo: no}, nil
	}
	id := c.Param("cardholder_id")
	ok := len(id) == 32
	for i := 0; ok && i < len(id); i++ {
		ok = ('0' <= id[i] && id[i] <= '9') || ('a' <= id[i] && id[i] <= 'f')
	}
	if !ok {
		return Person{}, httpapi.BadRequest(httpapi.CodeInvalid, "bad cardholder id",
			httpapi.FieldError{Field: "cardholder_id", Code: domain.CodeInvalidValue, Message: "want 32 lowercase hex digits"})
	}
	return Person{CardholderID: id}, nil
}

func principalScope(c echo.Context) httpapi.Scope {
	p, _ := httpapi.PrincipalFrom(c)
	return p.Scope()
}

// checkScope refuses (403 scope_region / scope_bank) a person outside the
// caller's scope. Their home region comes from the projection's holders; a
// person it does not know yet is refused to every scoped caller (their
// region cannot be shown to be inside). Banks are not projected, so a
// bank-bound caller is refused every person.
func (a *API) checkScope(c echo.Context, p Person) error {
	scope := principalScope(c)
	if scope.Unrestricted() {
		return nil
	}
	if scope.Bank != "" {
		return &httpapi.ScopeError{Code: httpapi.CodeScopeBank, Scope: scope}
	}
	region, err := a.queries.HomeRegion(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return scope.Check(region, "")
}

func (a *API) getHistory(c echo.Context) error {
	p, err := person(c)
	if err != nil {
		return err
	}
	if err := a.checkScope(c, p); err != nil {
		return err
	}
	w, err := a.window(c)
	if err != nil {
		return err
	}
	limit, err := intParam(c, "limit", 1000, 10000)
	if err != nil {
		return err
	}
	uses, err := a.queries.History(c.Request().Context(), p, w, limit)
	if err != nil {
		return err
	}
	return reply(c, HistoryResponse{Uses: uses},
		[]string{"at", "record_id", "card_no", "kind", "channel", "amount", "region_code", "merchant", "category", "remote"},
		func(add func(...string)) {
			for _, u := range uses {
				add(u.At.Format(time.RFC3339), u.RecordID, u.CardNo, u.Kind, u.Channel, u.Amount, u.RegionCode,
					u.Merchant, u.Category, strconv.FormatBool(u.Remote))
			}
		})
}

func (a *API) getProfile(c echo.Context) error {
	p, err := person(c)
	if err != nil {
		return err
	}
	if err := a.checkScope(c, p); err != nil {
		return err
	}
	w, err := a.window(c)
	if err != nil {
		return err
	}
	pr, err := a.queries.Profile(c.Request().Context(), p, w)
	if err != nil {
		return err
	}
	return reply(c, pr, []string{"dimension", "key", "count", "amount"}, func(add func(...string)) {
		add("total", "", u64(pr.Count), pr.Amount)
		add("remote", "", u64(pr.RemoteCount), "")
		for _, d := range []struct {
			name   string
			shares []Share
		}{{"channel", pr.Channels}, {"kind", pr.Kinds}, {"place", pr.Places}, {"category", pr.Categories}} {
			for _, s := range d.shares {
				add(d.name, s.Key, u64(s.Count), s.Amount)
			}
		}
		for h, n := range pr.Hours {
			add("hour", strconv.Itoa(h), u64(n), "")
		}
	})
}
