package readapi

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// StatRow is one group of a statistic.
type StatRow struct {
	Key   string `json:"key"`
	Count int64  `json:"count"`
}

// Stat is a statistic over every numbered card (current and past) unless
// the statistic says otherwise.
type Stat struct {
	Name string    `json:"name"`
	Rows []StatRow `json:"rows"`
}

// statistic names a GROUP BY over the cards table; key is the SQL of the
// group key (” groups go under "unknown").
type statistic struct {
	path, name, key, where, summary string
}

var statistics = []statistic{
	{path: "/v1/stats/cards-by-status", name: "cards_by_status", key: "status",
		summary: "Cards by status"},
	{path: "/v1/stats/issued-per-month", name: "issued_per_month", key: "to_char(issued_on, 'YYYY-MM')",
		where: "issued_on IS NOT NULL", summary: "Cards issued per month (YYYY-MM of the issue date)"},
	{path: "/v1/stats/cards-by-county", name: "cards_by_county", key: "region_code",
		summary: "Cards by county/district of the holder (6-digit region code)"},
	{path: "/v1/stats/cards-by-town", name: "cards_by_town", key: "community_code",
		summary: "Cards by town/street/community of the holder (community code)"},
	{path: "/v1/stats/cards-by-agency", name: "cards_by_agency", key: "agency",
		where: "issued_on IS NOT NULL", summary: "Issued cards by issuing agency"},
	{path: "/v1/stats/cards-by-category", name: "cards_by_category", key: "kind",
		summary: "Cards by category: first issue or replacement (补换卡)"},
}

func (a *API) statsRoutes() []httpapi.Route {
	var routes []httpapi.Route
	for _, s := range statistics {
		routes = append(routes, httpapi.Route{
			Method: http.MethodGet, Path: s.path, Roles: rolesStats, Handler: a.stat(s),
			Summary:   s.summary + ". JSON, or CSV (key,count) with format=csv or Accept: text/csv. Accepts min_position.",
			Response:  Stat{Name: s.name, Rows: []StatRow{{Key: "active", Count: 41}, {Key: "lost", Count: 1}}},
			Responses: []httpapi.Response{{Status: http.StatusOK, ContentType: "text/csv", Body: "key,count\nactive,41\nlost,1\n"}},
			Params:    []httpapi.Param{csvFormat, httpapi.MinPosition},
		})
	}
	return routes
}

func (a *API) stat(s statistic) echo.HandlerFunc {
	where := ""
	if s.where != "" {
		where = " WHERE " + s.where
	}
	sql := "SELECT coalesce(nullif(" + s.key + ", ''), 'unknown') AS k, count(*) FROM " + a.t("cards") +
		where + " GROUP BY k ORDER BY k"
	return func(c echo.Context) error {
		if err := a.consistent(c); err != nil {
			return err
		}
		rows, err := a.read.Query(c.Request().Context(), sql)
		if err != nil {
			return err
		}
		out := Stat{Name: s.name}
		out.Rows, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (StatRow, error) {
			var row StatRow
			err := r.Scan(&row.Key, &row.Count)
			return row, err
		})
		if err != nil {
			return err
		}
		if out.Rows == nil {
			out.Rows = []StatRow{}
		}
		if !wantsCSV(c) {
			return c.JSON(http.StatusOK, out)
		}
		h := c.Response().Header()
		h.Set(echo.HeaderContentType, "text/csv; charset=utf-8")
		h.Set(echo.HeaderContentDisposition, `attachment; filename="`+s.name+`.csv"`)
		c.Response().WriteHeader(http.StatusOK)
		w := csv.NewWriter(c.Response())
		_ = w.Write([]string{"key", "count"})
		for _, r := range out.Rows {
			_ = w.Write([]string{r.Key, strconv.FormatInt(r.Count, 10)})
		}
		w.Flush()
		return w.Error()
	}
}

func wantsCSV(c echo.Context) bool {
	if f := c.QueryParam("format"); f != "" {
		return f == "csv"
	}
	return strings.Contains(c.Request().Header.Get(echo.HeaderAccept), "text/csv")
}
