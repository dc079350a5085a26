package analytics

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/analytics/dashboard"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// DashboardData is what the dashboard page draws: city-wide aggregates of
// the last Months months, nothing about a person.
type DashboardData struct {
	City   string `json:"city"`   // the city's name, for the title
	Months int    `json:"months"` // the window, in calendar months
	// PartialMonth is the current month (YYYY-MM): its figures are month to
	// date, and the page marks it so that it does not read as a collapse.
	PartialMonth  string            `json:"partial_month"`
	From          string            `json:"from"`
	To            string            `json:"to"`
	Flows         []Flow            `json:"flows"`
	Spending      []SpendingMonth   `json:"spending"`
	Categories    []Category        `json:"categories"`
	Lifecycle     []LifecycleMonth  `json:"lifecycle"`
	Lag           *Lag              `json:"lag"`
	Cities        map[string]string `json:"cities"`         // prefecture code → name, for the codes in flows
	CategoryNames map[string]string `json:"category_names"` // category → Chinese label
}

// DashboardMonths is the span the dashboard shows by default, ending
// today; ?months= chooses another, up to MaxDashboardMonths.
const (
	DashboardMonths    = 12
	MaxDashboardMonths = 60
)

// CategoryNames labels the categories the demo city and common settlement
// systems report.
func CategoryNames() map[string]string {
	return map[string]string{
		"drugs":              "药品",
		"medical_treatment":  "门诊诊疗",
		"examination":        "检查检验",
		"hospitalization":    "住院",
		"transit":            "交通出行",
		"government_service": "政务服务",
		"other":              "其他",
	}
}

func (a *API) dashboardRoutes() []httpapi.Route {
	file := func(path, name, contentType, cache, example string) httpapi.Route {
		return httpapi.Route{Method: http.MethodGet, Path: path, Summary: "Dashboard asset " + name,
			Responses: []httpapi.Response{{Status: http.StatusOK, ContentType: contentType[:strings.Index(contentType, ";")], Body: example}},
			Handler: func(c echo.Context) error {
				b, err := dashboard.Files.ReadFile(name)
				if err != nil {
					return err
				}
				c.Response().Header().Set("Cache-Control", cache)
				return c.Blob(http.StatusOK, contentType, b)
			}}
	}
	return []httpapi.Route{
		file("/dashboard", "index.html", "text/html; charset=utf-8", "no-cache", "<!doctype html><html lang=\"zh-CN\">…</html>"),
		file("/dashboard/dashboard.js", "dashboard.js", "text/javascript; charset=utf-8", "no-cache", "\"use strict\";\n…"),
		file("/dashboard/assets/echarts.min.js", "assets/echarts.min.js", "text/javascript; charset=utf-8", "public, max-age=86400",
			"!function(t,e){…}"),
		a.dashboardDataRoute(),
	}
}

// dashboardDataRoute is public only when configured so; otherwise analysts
// (bearer) and display clients (?display_token=) may read it.
func (a *API) dashboardDataRoute() httpapi.Route {
	r := httpapi.Route{Method: http.MethodGet, Path: "/dashboard/data",
		Summary: "Dashboard figures (city-wide aggregates only; ?months=N, default 12); an analyst key or ?display_token=",
		Handler: a.getDashboardData, Response: exampleDashboard,
		Params: []httpapi.Param{httpapi.Query("months", "The window in calendar months, ending today, 1 to 60 (default 12)", 12)}}
	if a.screen.Public {
		r.Summary = "Dashboard figures (public: city-wide aggregates only; ?months=N, default 12)"
		return r
	}
	r.Roles = []httpapi.Role{httpapi.RoleAnalyst, httpapi.RoleDisplay}
	r.DisplayToken = true
	return r
}

func (a *API) getDashboardData(c echo.Context) error {
	ctx := c.Request().Context()
	y, m, d := a.now().In(domain.ChinaTime()).Date()
	to := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	months := DashboardMonths
	if v := c.QueryParam("months"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxDashboardMonths {
			return httpapi.BadRequest(httpapi.CodeInvalid, "months: want a whole number of months",
				httpapi.FieldError{Field: "months", Code: domain.CodeInvalidValue, Message: fmt.Sprintf("want 1 to %d, got %q", MaxDashboardMonths, v)})
		}
		months = n
	}
	first := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
	w := Window{From: first.AddDate(0, -(months - 1), 0), To: to}
	data := DashboardData{City: a.screen.CityName, Months: months, PartialMonth: first.Format("2006-01"),
		From: w.from(), To: w.to(), Cities: map[string]string{}, CategoryNames: CategoryNames()}
	var err error
	if data.Flows, err = a.queries.Flows(ctx, w); err != nil {
		return err
	}
	if data.Spending, err = a.queries.Spending(ctx, w); err != nil {
		return err
	}
	if data.Categories, err = a.queries.Categories(ctx, w, 10); err != nil {
		return err
	}
	if data.Lifecycle, err = a.queries.Lifecycle(ctx, w); err != nil {
		return err
	}
	if a.lag != nil {
		if lag, err := a.lag(ctx); err == nil {
			data.Lag = &lag
		}
	}
	for _, f := range data.Flows {
		for _, code := range []string{f.HomeRegion, f.UseRegion} {
			if name := domain.RegionName(code); name != "" {
				data.Cities[code] = name
			}
		}
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, data)
}

// ProjectionLag returns a LagFunc comparing the checkpoint stored in
// ClickHouse with the head of store.
func ProjectionLag(store eventstore.Store, conn driver.Conn) LagFunc {
	return func(ctx context.Context) (Lag, error) {
		cp, err := readCheckpoint(ctx, conn, "projection_checkpoints")
		if err != nil {
			return Lag{}, err
		}
		head, ok, err := store.Head(ctx)
		if err != nil {
			return Lag{}, err
		}
		lag := Lag{Checkpoint: cp.pos.String(), CaughtUp: !ok || !cp.pos.Less(head.Position)}
		if !lag.CaughtUp {
			lag.Seconds = head.RecordedAt.Sub(cp.eventAt).Seconds()
			if cp.pos == eventstore.Start {
				lag.Seconds = 0 // nothing projected yet: no meaningful distance in time
			}
		}
		return lag, nil
	}
}
