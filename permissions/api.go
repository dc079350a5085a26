package permissions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Problem codes of refused callers (403).
const (
	CodeRequesterNotCounty = "requester_not_county"
	CodeApproverNotCity    = "approver_not_city"
	CodeOperatorUnknown    = "operator_unknown"
	CodeRoleNotGrantable   = "role_not_grantable"
)

// API serves the permission request endpoints.
type API struct {
	requests *commands.Pipeline[*domain.PermissionRequest, domain.PermissionCommand]
	db       auth.DB
	clock    func() time.Time
}

// NewAPI needs the event store (request streams) and the clients database
// (operators are looked up and granted there).
func NewAPI(store eventstore.Store, db auth.DB, clock func() time.Time) (*API, error) {
	if store == nil || db == nil || clock == nil {
		return nil, errors.New("permissions: API needs an event store, the clients database and a clock")
	}
	requests, err := commands.NewPipeline(domain.Permissions, store, clock)
	if err != nil {
		return nil, err
	}
	return &API{requests: requests, db: db, clock: clock}, nil
}

// Request bodies: a field without omitempty is required (the OpenAPI
// document's rule).
type requestBody struct {
	Operator string `json:"operator"`
	Role     string `json:"role"`
	Region   string `json:"region"`
	Reason   string `json:"reason,omitempty"`
}

type decisionBody struct {
	Note   string `json:"note,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// View is a request as the API shows it, with its history.
type View struct {
	ID          string                  `json:"id"`
	Status      domain.PermissionStatus `json:"status"`
	Operator    string                  `json:"operator"`
	Role        string                  `json:"role"`
	Region      string                  `json:"region"`
	Reason      string                  `json:"reason,omitempty"`
	RequestedBy string                  `json:"requested_by"`
	DecidedBy   string                  `json:"decided_by,omitempty"`
	Note        string                  `json:"note,omitempty"`
	Revision    int                     `json:"revision"`
	History     []Step                  `json:"history"`
}

// Step is one event of the request.
type Step struct {
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	RecordedAt time.Time       `json:"recorded_at"`
}

var (
	rolesAdmin  = []httpapi.Role{httpapi.RoleAdmin}
	rolesReader = []httpapi.Role{httpapi.RoleAdmin, httpapi.RoleAuditor}
)

// Routes is the route table of the permission requests.
func (a *API) Routes() []httpapi.Route {
	at := time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC)
	requested := Step{Type: domain.TypePermissionRequested, RecordedAt: at, Data: json.RawMessage(
		`{"id":"7d0c1f5e-0b7e-4c43-9b8f-1a2b3c4d5e6f","operator":"wuzhong-op-7","role":"counter","region":"320506","requested_by":"wuzhong-admin"}`)}
	example := View{ID: "7d0c1f5e-0b7e-4c43-9b8f-1a2b3c4d5e6f", Status: domain.RequestPending, Operator: "wuzhong-op-7",
		Role: "counter", Region: "320506", Reason: "new counter at 吴中 outlet", RequestedBy: "wuzhong-admin", Revision: 1,
		History: []Step{requested}}
	approved := example
	approved.Status, approved.DecidedBy, approved.Note, approved.Revision = domain.RequestApproved, "city-admin", "approved", 2
	approved.History = []Step{requested, {Type: domain.TypePermissionApproved, RecordedAt: at.Add(time.Hour),
		Data: json.RawMessage(`{"id":"7d0c1f5e-0b7e-4c43-9b8f-1a2b3c4d5e6f","decided_by":"city-admin","note":"approved"}`)}}
	rejected := example
	rejected.Status, rejected.DecidedBy, rejected.Revision = domain.RequestRejected, "city-admin", 2
	rejected.History = []Step{requested, {Type: domain.TypePermissionRejected, RecordedAt: at.Add(time.Hour),
		Data: json.RawMessage(`{"id":"7d0c1f5e-0b7e-4c43-9b8f-1a2b3c4d5e6f","decided_by":"city-admin","reason":"not needed"}`)}}
	command := []httpapi.Param{httpapi.IdempotencyKey}
	refusals := httpapi.Problems(http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity)
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/permission-requests", Roles: rolesAdmin, Status: http.StatusCreated,
			Summary:  "A county administrator requests a role in its county for an operator client (权限申请)",
			Request:  requestBody{Operator: "wuzhong-op-7", Role: "counter", Region: "320506", Reason: "new counter at 吴中 outlet"},
			Response: example, Handler: a.request, Params: command, Responses: refusals},
		{Method: http.MethodPost, Path: "/v1/permission-requests/{id}/approval", Roles: rolesAdmin,
			Summary: "A city administrator approves the request; the operator gets the role and region",
			Request: decisionBody{Note: "approved"}, RequestOptional: true, Response: approved, Handler: a.approve, Params: command, Responses: refusals},
		{Method: http.MethodPost, Path: "/v1/permission-requests/{id}/rejection", Roles: rolesAdmin,
			Summary: "A city administrator rejects the request",
			Request: decisionBody{Reason: "not needed"}, RequestOptional: true, Response: rejected, Handler: a.reject, Params: command, Responses: refusals},
		{Method: http.MethodGet, Path: "/v1/permission-requests/{id}", Roles: rolesReader,
			Summary: "The request, its status and every event of it", Response: approved, Handler: a.get,
			Responses: httpapi.Problems(http.StatusNotFound)},
	}
}

func (a *API) request(c echo.Context) error {
	var b requestBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	ctx := c.Request().Context()
	if !httpapi.IsCountyRegion(p.Region) {
		return httpapi.NewProblem(http.StatusForbidden, CodeRequesterNotCounty, "only a county administrator requests permissions")
	}
	if role, err := httpapi.ParseRole(b.Role); err == nil && role == httpapi.RoleAdmin {
		return httpapi.NewProblem(http.StatusForbidden, CodeRoleNotGrantable, "the admin role is never delegated")
	} else if err != nil && b.Role != "" {
		return httpapi.BadRequest(httpapi.CodeInvalid, err.Error(), httpapi.FieldError{Field: "role", Code: "invalid_role", Message: err.Error()})
	}
	// A malformed region is left to the domain's validation (400).
	if domain.ValidateRegionCode(b.Region) == nil && !p.Scope().CoversRegion(b.Region) {
		return &httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: p.Scope()}
	}
	if b.Operator != "" {
		op, err := auth.Get(ctx, a.db, b.Operator)
		if errors.Is(err, auth.ErrNoClient) {
			return httpapi.NewProblem(http.StatusUnprocessableEntity, CodeOperatorUnknown, "no client with this name")
		}
		if err != nil {
			return err
		}
		if !p.Scope().CoversRegion(op.Region) {
			// An operator of another county (or unbound) is not this county's to delegate to.
			return &httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: p.Scope()}
		}
	}
	env := a.envelope(c)
	// The request id derives from the command id: a request retried with
	// its Idempotency-Key names the same request, which the pipeline finds
	// already made.
	id := commands.IDFor("permission-request", env.CommandID).String()
	cmd := domain.RequestPermission{RequestID: id, Operator: strings.TrimSpace(b.Operator), Role: b.Role, Region: b.Region,
		Reason: b.Reason, RequestedBy: p.Client, RequesterRegion: p.Region, At: a.clock().UTC()}
	state, err := a.run(ctx, id, env, cmd)
	if err != nil {
		return err
	}
	return a.respond(c, http.StatusCreated, state)
}

func (a *API) approve(c echo.Context) error {
	return a.decide(c, true)
}

func (a *API) reject(c echo.Context) error {
	return a.decide(c, false)
}

func (a *API) decide(c echo.Context, approve bool) error {
	var b decisionBody
	if err := httpapi.DecodeOptionalJSON(c, &b); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	ctx := c.Request().Context()
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return problem(domain.NotFound(domain.CodePermissionNotFound, "no such permission request"))
	}
	if httpapi.IsCountyRegion(p.Region) {
		return httpapi.NewProblem(http.StatusForbidden, CodeApproverNotCity, "only a city administrator decides permission requests")
	}
	current, err := a.load(ctx, id)
	if err != nil {
		return err
	}
	if current.State.Status != domain.RequestNone && !p.Scope().CoversRegion(current.State.Region) {
		return &httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: p.Scope()}
	}
	if approve && current.State.Status == domain.RequestApproved && current.State.DecidedBy == p.Client {
		// A retry: make sure the grant happened and answer as before.
		if err := auth.Grant(ctx, a.db, current.State.Operator, httpapi.Role(current.State.Role), current.State.Region); err != nil {
			return fmt.Errorf("re-apply grant of %s: %w", id, err)
		}
		return a.respond(c, http.StatusOK, current)
	}
	var cmd domain.PermissionCommand = domain.RejectPermission{By: p.Client, Reason: b.Reason, At: a.clock().UTC()}
	if approve {
		cmd = domain.ApprovePermission{By: p.Client, Note: b.Note, At: a.clock().UTC()}
	}
	state, err := a.run(ctx, id, a.envelope(c), cmd)
	if err != nil {
		return err
	}
	if approve {
		if err := auth.Grant(ctx, a.db, state.State.Operator, httpapi.Role(state.State.Role), state.State.Region); err != nil {
			return fmt.Errorf("grant %s to %s: %w", state.State.Role, state.State.Operator, err)
		}
	}
	return a.respond(c, http.StatusOK, state)
}

func (a *API) get(c echo.Context) error {
	p, _ := httpapi.PrincipalFrom(c)
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return problem(domain.NotFound(domain.CodePermissionNotFound, "no such permission request"))
	}
	state, err := a.load(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if state.State.Status == domain.RequestNone {
		return problem(domain.NotFound(domain.CodePermissionNotFound, "no such permission request"))
	}
	if !p.Scope().CoversRegion(state.State.Region) {
		return &httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: p.Scope()}
	}
	return a.respond(c, http.StatusOK, state)
}

// loaded is a request with its recorded events.
type loaded = commands.Stream[*domain.PermissionRequest]

func (a *API) load(ctx context.Context, id string) (loaded, error) {
	return a.requests.Load(ctx, id)
}

// run puts cmd through the write pipeline and reads the request back with
// its history. A concurrent decision makes the append fail; deciding again
// then sees it (decided once). A command already applied (same command id)
// appends nothing.
func (a *API) run(ctx context.Context, id string, env commands.Envelope, cmd domain.PermissionCommand) (loaded, error) {
	if _, err := a.requests.Handle(ctx, id, env, cmd); err != nil {
		return loaded{}, problem(err)
	}
	return a.load(ctx, id)
}

// envelope says who sent the command. Its id is the client's
// Idempotency-Key's (commands.CommandIDFor), so a retry is the same
// command; without one every request is a new command.
func (a *API) envelope(c echo.Context) commands.Envelope {
	p, _ := httpapi.PrincipalFrom(c)
	env := commands.NewEnvelope(domain.Actor{Client: p.Client, CertSubject: p.Subject}, "http")
	if key := c.Request().Header.Get(commands.HeaderIdempotencyKey); key != "" {
		env.CommandID = commands.CommandIDFor(p.Client, key)
	}
	env.CorrelationID, env.CausationID, env.RemoteAddr = httpapi.CorrelationID(c), httpapi.RequestID(c), c.RealIP()
	return env
}

func (a *API) respond(c echo.Context, status int, l loaded) error {
	s := l.State
	v := View{ID: s.ID, Status: s.Status, Operator: s.Operator, Role: s.Role, Region: s.Region, Reason: s.Reason,
		RequestedBy: s.RequestedBy, DecidedBy: s.DecidedBy, Note: s.Note, Revision: s.Version, History: []Step{}}
	for _, r := range l.Recorded {
		v.History = append(v.History, Step{Type: r.Type, Data: json.RawMessage(r.Data), RecordedAt: r.RecordedAt.UTC()})
	}
	return c.JSON(status, v)
}

// problem turns domain refusals into problems, as the commands API does
// (commands.ProblemFor, also the server's MapError).
func problem(err error) error {
	if p := commands.ProblemFor(err); p != nil {
		return p
	}
	return err
}
