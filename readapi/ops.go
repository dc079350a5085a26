package readapi

import (
	"bytes"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/projections"
)

// Readiness is the body of GET /readyz.
type Readiness struct {
	Ready       bool                 `json:"ready"`
	Projections []projections.Status `json:"projections"`
}

func (a *API) opsRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/metrics", Handler: a.metrics,
			Summary: "Prometheus metrics (text format): projection lag in events and seconds, activity, events applied."},
		{Method: http.MethodGet, Path: "/readyz", Handler: a.readyz,
			Summary:  "Readiness: 200 when every projection is within its lag bound of the event-store head, else 503; lists each projection's lag.",
			Response: Readiness{Ready: true}},
	}
}

func (a *API) metrics(c echo.Context) error {
	var buf bytes.Buffer
	if err := a.runner.WriteMetrics(c.Request().Context(), &buf); err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", buf.Bytes())
}

func (a *API) readyz(c echo.Context) error {
	ok, st, err := a.runner.Ready(c.Request().Context())
	if err != nil {
		a.log.WithError(err).Warn("readyz: projection status unavailable")
		return httpapi.NewProblem(http.StatusServiceUnavailable, httpapi.CodeUnavailable, "projection status unavailable")
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	return c.JSON(status, Readiness{Ready: ok, Projections: st})
}
