package audit

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// CodeInvalidQuery is the problem code of a bad audit query.
const CodeInvalidQuery = httpapi.CodeInvalidQuery

const (
	defaultLimit = 100
	maxLimit     = 1000
)

// API serves the audit trail from the audit projection.
type API struct {
	pool *pgxpool.Pool
}

// NewAPI returns the audit API on the database the projection writes.
func NewAPI(pool *pgxpool.Pool) *API { return &API{pool: pool} }

// Action is one event in the audit trail.
type Action struct {
	Position      string     `json:"position"`
	Stream        string     `json:"stream"`
	Revision      uint64     `json:"revision"`
	EventID       string     `json:"event_id"`
	Type          string     `json:"type"`
	RecordedAt    time.Time  `json:"recorded_at"`
	OccurredAt    *time.Time `json:"occurred_at,omitempty"`
	Client        string     `json:"client"`
	Operator      string     `json:"operator,omitempty"`
	CertSubject   string     `json:"cert_subject,omitempty"`
	Channel       string     `json:"channel,omitempty"`
	RemoteAddr    string     `json:"remote_addr,omitempty"`
	CorrelationID string     `json:"correlation_id,omitempty"`
	CausationID   string     `json:"causation_id,omitempty"`
}

// Actions is a page of the audit trail; Next is the after= of the next
// page, empty on the last.
type Actions struct {
	Actions []Action `json:"actions"`
	Next    string   `json:"next,omitempty"`
}

// Routes is the audit API's route table.
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{{
		Method: http.MethodGet, Path: "/v1/audit", Roles: []httpapi.Role{httpapi.RoleAuditor},
		Summary: "Actions recorded in the event store, filtered by actor (client, operator or certificate subject) and time " +
			"(from inclusive, to exclusive, RFC 3339, on the store's clock); in log order, limit (1-1000, default 100), after=next",
		Handler: a.list,
		Params: []httpapi.Param{
			httpapi.Query("actor", "Only actions of this client, operator or certificate subject", "counter-futian"),
			httpapi.Query("from", "Recorded at or after this instant (RFC 3339)", "2025-03-01T00:00:00+08:00"),
			httpapi.Query("to", "Recorded before this instant (RFC 3339)", "2025-04-01T00:00:00+08:00"),
			httpapi.Query("limit", "At most this many actions, 1 to 1000 (default 100)", 100),
			httpapi.Query("after", "The next of the previous page", "2a-7"),
		},
		Response: Actions{Actions: []Action{{Position: "2a-7", Stream: "cardholder-9b2f", Revision: 3,
			EventID: "6f1d2c5e-8a43-4b8e-9c0a-3e7b1f52d9a4", Type: "CardReportedLost", RecordedAt: time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC),
			Client: "counter-futian", Operator: "窗口01", Channel: "http", RemoteAddr: "10.0.0.7",
			CorrelationID: "req-1", CausationID: "req-1"}}, Next: "2a-7"},
	}}
}

// query is a parsed audit query.
type query struct {
	actor    string
	from, to *time.Time
	after    eventstore.Position
	limit    int
}

func parseQuery(c echo.Context) (query, error) {
	q := query{actor: c.QueryParam("actor"), limit: defaultLimit}
	bad := func(field, msg string) error {
		return httpapi.BadRequest(CodeInvalidQuery, field+": "+msg,
			httpapi.FieldError{Field: field, Code: CodeInvalidQuery, Message: msg})
	}
	for _, f := range []struct {
		name string
		dst  **time.Time
	}{{"from", &q.from}, {"to", &q.to}} {
		if s := c.QueryParam(f.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, bad(f.name, "want an RFC 3339 time such as 2025-03-01T00:00:00+08:00")
			}
			*f.dst = &t
		}
	}
	if q.from != nil && q.to != nil && !q.from.Before(*q.to) {
		return q, bad("to", "must be after from")
	}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			return q, bad("limit", fmt.Sprintf("want 1..%d", maxLimit))
		}
		q.limit = n
	}
	if s := c.QueryParam("after"); s != "" {
		p, err := eventstore.ParsePosition(s)
		if err != nil {
			return q, bad("after", "not a position this API returned")
		}
		q.after = p
	}
	return q, nil
}

const listSQL = `
SELECT pos_commit, pos_prepare, stream, revision, event_id, type, recorded_at, occurred_at,
	client, operator, cert_subject, channel, remote_addr, correlation_id, causation_id
FROM audit.actions
WHERE (pos_commit, pos_prepare) > ($1, $2)
	AND ($3 = '' OR client = $3 OR operator = $3 OR cert_subject = $3)
	AND ($4::timestamptz IS NULL OR recorded_at >= $4)
	AND ($5::timestamptz IS NULL OR recorded_at < $5)
ORDER BY pos_commit, pos_prepare
LIMIT $6`

func (a *API) list(c echo.Context) error {
	if err := checkScope(c); err != nil {
		return err
	}
	q, err := parseQuery(c)
	if err != nil {
		return err
	}
	rows, err := a.pool.Query(c.Request().Context(), listSQL, int64(q.after.Commit), int64(q.after.Prepare),
		q.actor, q.from, q.to, q.limit)
	if err != nil {
		return fmt.Errorf("audit: list actions: %w", err)
	}
	actions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Action, error) {
		var (
			act    Action
			pc, pp int64
			rev    int64
			id     [16]byte
		)
		err := r.Scan(&pc, &pp, &act.Stream, &rev, &id, &act.Type, &act.RecordedAt, &act.OccurredAt,
			&act.Client, &act.Operator, &act.CertSubject, &act.Channel, &act.RemoteAddr, &act.CorrelationID, &act.CausationID)
		act.Position = eventstore.Position{Commit: uint64(pc), Prepare: uint64(pp)}.String()
		act.Revision = uint64(rev)
		act.EventID = uuid.UUID(id).String()
		act.RecordedAt = act.RecordedAt.UTC()
		return act, err
	})
	if err != nil {
		return fmt.Errorf("audit: list actions: %w", err)
	}
	out := Actions{Actions: actions}
	if out.Actions == nil {
		out.Actions = []Action{}
	}
	if len(actions) == q.limit {
		out.Next = actions[len(actions)-1].Position
	}
	return c.JSON(http.StatusOK, out)
}

// checkScope refuses every scoped caller: the trail spans every stream
// (cardholders of all regions, cards of all banks, batches, permissions)
// and filtering it by a holder's region would mean resolving each
// stream's holder on every page. A region-bound auditor gets 403
// scope_region, a bank-bound one scope_bank; only unscoped (city centre)
// auditors list the trail.
func checkScope(c echo.Context) error {
	p, _ := httpapi.PrincipalFrom(c)
	scope := p.Scope()
	switch {
	case scope.Region != "":
		return &httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: scope}
	case scope.Bank != "":
		return &httpapi.ScopeError{Code: httpapi.CodeScopeBank, Scope: scope}
	}
	return nil
}
