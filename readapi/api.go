package readapi

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/unavailable"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// MaxWait bounds how long a read waits for min_position.
const MaxWait = 5 * time.Second

// Problem codes of this API. A missing cardholder or card is answered with
// the domain's codes (domain.CodeCardholderNotFound, domain.CodeCardNotFound),
// the same the write side refuses a command with.
const (
	CodeProjectionBehind  = "projection_behind"
	CodeInvalidPosition   = "invalid_position"
	CodeInvalidQuery      = httpapi.CodeInvalidQuery
	CodeApplicationAbsent = "application_not_found"
)

// Who may read what. Admin may call everything (httpapi adds it).
var (
	rolesRecords   = []httpapi.Role{httpapi.RoleCounter, httpapi.RoleBank, httpapi.RoleAuditor}
	rolesStats     = []httpapi.Role{httpapi.RoleCounter, httpapi.RoleAuditor, httpapi.RoleAnalyst}
	rolesBlacklist = []httpapi.Role{httpapi.RoleBlacklistConsumer, httpapi.RoleCounter, httpapi.RoleBank, httpapi.RoleAuditor}
)

// API is the read side's HTTP API.
type API struct {
	pool *pgxpool.Pool // the primary: the projection writes the read model there
	// read serves every query: the primary, or the replica (WithReplica).
	read *pgxpool.Pool
	// replica is the read model as the replica has applied it (its own
	// copy of the checkpoint); nil without a replica.
	replica *readmodel.Model
	runner  *projections.Runner
	idKey   []byte
	log     logrus.FieldLogger
	schema  string
	wait    time.Duration // bound of min_position waits

	deps     []Dependency         // what /readyz checks besides the projections
	optional map[string]bool      // projections whose lag only degrades readiness
	metricsG prometheus.Gatherer  // what /metrics serves
	ownReg   *prometheus.Registry // metricsG while it is NewAPI's own registry
}

// NewAPI serves the read model in pool. runner gives read-your-writes and
// wakes feed long polls; idKey is the key of domain.CardholderIDFor, so
// lookups by ID number find the cardholder without storing a searchable
// ID-number index.
func NewAPI(pool *pgxpool.Pool, runner *projections.Runner, idKey []byte, log logrus.FieldLogger) *API {
	if log == nil {
		log = logrus.StandardLogger()
	}
	reg := prometheus.NewRegistry()
	if runner != nil {
		reg.MustRegister(projections.Collector(runner))
	}
	return &API{pool: pool, read: pool, runner: runner, idKey: idKey, log: log, schema: readmodel.Schema, wait: MaxWait,
		metricsG: reg, ownReg: reg}
}

// WithMetrics makes /metrics serve g, the process's registry, instead of
// the projection series alone; g must hold projections.Collector(runner)
// and, with a replica, ReplicaCollector.
func (a *API) WithMetrics(g prometheus.Gatherer) *API {
	a.metricsG, a.ownReg = g, nil
	return a
}

// WithMaxWait changes the min_position wait bound (tests shorten it).
func (a *API) WithMaxWait(d time.Duration) *API {
	a.wait = d
	return a
}

// Routes is the route table of the read API.
func (a *API) Routes() []httpapi.Route {
	reads := slices.Concat(a.recordRoutes(), a.statsRoutes(), a.blacklistRoutes())
	if a.replica != nil {
		for i := range reads {
			reads[i].Handler = a.onReplica(reads[i].Handler)
		}
	}
	return append(reads, a.opsRoutes()...)
}

// t names a read-model table.
func (a *API) t(name string) string { return a.schema + "." + name }

// consistent waits for min_position if the request carries one.
func (a *API) consistent(c echo.Context) error {
	raw := c.QueryParam("min_position")
	if raw == "" {
		return nil
	}
	pos, err := eventstore.ParsePosition(raw)
	if err != nil {
		return httpapi.BadRequest(CodeInvalidPosition, "min_position is not a position returned by a command",
			httpapi.FieldError{Field: "min_position", Code: CodeInvalidPosition, Message: err.Error()})
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), a.wait)
	defer cancel()
	err = a.runner.WaitForProjection(ctx, readmodel.Name, pos)
	what := "the read model"
	if _, down := unavailable.Classify(err); down && a.replica != nil && !errors.Is(err, projections.ErrNotCaughtUp) {
		// Reading the primary's checkpoint: the outage is the primary's.
		err = unavailable.Wrap(unavailable.PostgreSQL, err)
	}
	if err == nil && a.replica != nil {
		// The replica replays what the primary committed: it can only
		// have the position once the projection stored it there.
		err, what = a.waitReplica(ctx, pos), "the read replica"
	}
	if errors.Is(err, projections.ErrNotCaughtUp) {
		if c.Request().Context().Err() != nil {
			return c.Request().Context().Err()
		}
		c.Response().Header().Set("Retry-After", "1")
		return httpapi.NewProblem(http.StatusServiceUnavailable, CodeProjectionBehind,
			what+" has not reached min_position within "+a.wait.String()+"; retry shortly")
	}
	return err
}

// page reads limit (default def, at most max) and cursor.
type page struct {
	limit  int
	cursor string // the last key of the previous page; "" for the first
}

func pageOf(c echo.Context, def, max int) (page, error) {
	p := page{limit: def}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > max {
			return p, httpapi.BadRequest(CodeInvalidQuery, "limit must be between 1 and "+strconv.Itoa(max),
				httpapi.FieldError{Field: "limit", Code: CodeInvalidQuery, Message: "want 1.." + strconv.Itoa(max)})
		}
		p.limit = n
	}
	if s := c.QueryParam("cursor"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return p, httpapi.BadRequest(CodeInvalidQuery, "cursor is not one this API returned",
				httpapi.FieldError{Field: "cursor", Code: CodeInvalidQuery, Message: "malformed cursor"})
		}
		p.cursor = string(b)
	}
	return p, nil
}

// nextCursor is the cursor of the page after one ending at key, or "" when
// the page was not full (no more rows).
func nextCursor(n, limit int, key string) string {
	if n < limit {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(key))
}
