package readapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/projections"
)

// Readiness is the body of GET /readyz: 200 when Ready, else 503.
//
// Ready means the core of the service can serve: commands, reads and the
// blacklist, i.e. PostgreSQL and the event store answer and every
// projection they read is within its lag bound. A load balancer keeps an
// instance in rotation on it. Optional dependencies (ClickHouse, for
// analytics) and their projections do not count: while one is down or
// behind, Degraded is true, the routes that need it answer 503
// dependency_unavailable, and everything else keeps working.
type Readiness struct {
	Ready        bool                 `json:"ready"`
	Degraded     bool                 `json:"degraded"`
	Dependencies []DependencyStatus   `json:"dependencies,omitempty"`
	Projections  []projections.Report `json:"projections"`
}

// Dependency is something readiness checks.
type Dependency struct {
	Name     string
	Optional bool // down: degraded, still ready
	Check    func(context.Context) error
}

// DependencyStatus is one dependency's state in the readiness body.
type DependencyStatus struct {
	Name     string `json:"name"`
	Optional bool   `json:"optional,omitempty"`
	OK       bool   `json:"ok"`
	Error    string `json:"error,omitempty"`
}

// readyCheckTimeout bounds each readiness check, so an unreachable
// dependency makes /readyz answer rather than hang.
const readyCheckTimeout = 2 * time.Second

// WithReadiness names the dependencies /readyz checks and the projections
// that are optional (their lag or failure only degrades).
func (a *API) WithReadiness(deps []Dependency, optionalProjections ...string) *API {
	a.deps = deps
	a.optional = map[string]bool{}
	for _, name := range optionalProjections {
		a.optional[name] = true
	}
	return a
}

func (a *API) opsRoutes() []httpapi.Route {
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/metrics", Handler: a.metrics,
			Summary: "Prometheus metrics: HTTP requests and latency by route, commands by outcome, append latency, projection lag in events and seconds, activity, events applied, batch jobs, usage ingest, Go runtime.",
			Responses: []httpapi.Response{
				{Status: http.StatusOK, ContentType: "text/plain", Body: "# HELP cardledger_projection_lag_events Events not yet applied.\n" +
					"# TYPE cardledger_projection_lag_events gauge\ncardledger_projection_lag_events{projection=\"readmodel\"} 0\n"},
				{Status: http.StatusOK, ContentType: "application/openmetrics-text", Body: "# TYPE cardledger_projection_lag_events gauge\n" +
					"cardledger_projection_lag_events{projection=\"readmodel\"} 0\n# EOF\n"}}},
		{Method: http.MethodGet, Path: "/readyz", Handler: a.readyz,
			Summary:  "Readiness of the core (commands, reads, blacklist): 200 when PostgreSQL and the event store answer and their projections are within their lag bound, else 503; an optional dependency (ClickHouse) down only sets degraded. Lists each dependency and projection.",
			Response: exampleReady, Responses: []httpapi.Response{{Status: http.StatusServiceUnavailable, Body: exampleNotReady,
				Description: "Not ready: the core's database, event store or projections are down or behind (Retry-After)"}}},
	}
}

// metrics serves the registry in the format the scraper asks for. A
// collector that fails (the event store is down: no projection lag) fails
// the scrape the way any route fails: 503 dependency_unavailable for an
// outage, so the scraper's `up` shows it rather than a silent gap.
func (a *API) metrics(c echo.Context) error {
	families, err := a.metricsG.Gather()
	if err != nil {
		var multi prometheus.MultiError
		if errors.As(err, &multi) {
			err = errors.Join(multi...) // MultiError does not unwrap
		}
		return fmt.Errorf("metrics: %w", err)
	}
	format := expfmt.NegotiateIncludingOpenMetrics(c.Request().Header)
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, format)
	for _, f := range families {
		if err := enc.Encode(f); err != nil {
			return fmt.Errorf("metrics: encode: %w", err)
		}
	}
	if closer, ok := enc.(expfmt.Closer); ok {
		if err := closer.Close(); err != nil {
			return fmt.Errorf("metrics: encode: %w", err)
		}
	}
	return c.Blob(http.StatusOK, string(format), buf.Bytes())
}

func (a *API) readyz(c echo.Context) error {
	ctx := c.Request().Context()
	r := Readiness{Ready: true}
	deps := a.deps
	if a.replica != nil {
		deps = append(slices.Clone(deps), a.replicaDependency())
	}
	for _, d := range deps {
		cctx, cancel := context.WithTimeout(ctx, readyCheckTimeout)
		err := d.Check(cctx)
		cancel()
		st := DependencyStatus{Name: d.Name, Optional: d.Optional, OK: err == nil}
		if err != nil {
			st.Error = err.Error()
			r.fail(d.Optional)
		}
		r.Dependencies = append(r.Dependencies, st)
	}
	reports, err := a.runner.Reports(ctx) // bounds each read itself
	if err != nil {
		// No head, no lag: the event store is down, and with it the core.
		a.log.WithError(err).Warn("readyz: projection status unavailable")
		r.Ready = false
	}
	for _, p := range reports {
		if !p.Ready {
			r.fail(a.optional[p.Name])
		}
	}
	r.Projections = reports
	if r.Projections == nil {
		// The document promises an array (slices are never null): without
		// the event store's head there are no reports, not a null.
		r.Projections = []projections.Report{}
	}
	status := http.StatusOK
	if !r.Ready {
		status = http.StatusServiceUnavailable
		c.Response().Header().Set("Retry-After", strconv.Itoa(httpapi.DefaultRetryAfter))
	}
	return c.JSON(status, r)
}

// fail records a failed check: optional ones only degrade.
func (r *Readiness) fail(optional bool) {
	if optional {
		r.Degraded = true
	} else {
		r.Ready = false
	}
}
