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
	store eventstore.Store
	db    auth.DB
	clock func() time.Time
}

// NewAPI needs the event store (request streams) and the clients database
// (operators are looked up and granted there).
func NewAPI(store eventstore.Store, db auth.DB, clock func() time.Time) (*API, error) {
	if store == nil || db == nil || clock == nil {
		return nil, errors.New("permissions: API needs an event store, the clients database and a clock")
	}
	return &API{store: store, db: db, clock: clock}, nil
}

type requestBody struct {
	Operator string `json:"operator"`
	Role     string `json:"role"`
	Region   string `json:"region"`
	Reason   string `json:"reason"`
}

type decisionBody struct {
	Note   string `json:"note"`
	Reason string `json:"reason"`
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
	example := View{ID: "7d0c1f5e-0b7e-4c43-9b8f-1a2b3c4d5e6f", Status: domain.RequestPending, Operator: "wuzhong-op-7",
		Role: "counter", Region: "320506", RequestedBy: "wuzhong-admin", Revision: 1, History: []Step{}}
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/permission-requests", Roles: rolesAdmin, Status: http.StatusCreated,
			Summary:  "A county administrator requests a role in its county for an operator client (权限申请)",
			Request:  requestBody{Operator: "wuzhong-op-7", Role: "counter", Region: "320506", Reason: "new counter at 吴中 outlet"},
			Response: example, Handler: a.request},
		{Method: http.MethodPost, Path: "/v1/permission-requests/{id}/approval", Roles: rolesAdmin,
			Summary: "A city administrator approves the request; the operator gets the role and region",
			Request: decisionBody{Note: "approved"}, Response: example, Handler: a.approve},
		{Method: http.MethodPost, Path: "/v1/permission-requests/{id}/rejection", Roles: rolesAdmin,
			Summary: "A city administrator rejects the request",
			Request: decisionBody{Reason: "not needed"}, Response: example, Handler: a.reject},
		{Method: http.MethodGet, Path: "/v1/permission-requests/{id}", Roles: rolesReader,
			Summary: "The request, its status and every event of it", Response: example, Handler: a.get},
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
	id := uuid.NewString()
	cmd := domain.RequestPermission{RequestID: id, Operator: strings.TrimSpace(b.Operator), Role: b.Role, Region: b.Region,
		Reason: b.Reason, RequestedBy: p.Client, RequesterRegion: p.Region, At: a.clock().UTC()}
	state, err := a.run(c, id, false, cmd)
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
		return problemFor(domain.NotFound(domain.CodePermissionNotFound, "no such permission request"))
	}
	if httpapi.IsCountyRegion(p.Region) {
		return httpapi.NewProblem(http.StatusForbidden, CodeApproverNotCity, "only a city administrator decides permission requests")
	}
	current, _, err := a.load(ctx, id)
	if err != nil {
		return err
	}
	if current.Status != domain.RequestNone && !p.Scope().CoversRegion(current.Region) {
		return &httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: p.Scope()}
	}
	if approve && current.Status == domain.RequestApproved && current.DecidedBy == p.Client {
		// A retry: make sure the grant happened and answer as before.
		if err := auth.Grant(ctx, a.db, current.Operator, httpapi.Role(current.Role), current.Region); err != nil {
			return fmt.Errorf("re-apply grant of %s: %w", id, err)
		}
		return a.respond(c, http.StatusOK, current)
	}
	var cmd domain.PermissionCommand = domain.RejectPermission{By: p.Client, Reason: b.Reason, At: a.clock().UTC()}
	if approve {
		cmd = domain.ApprovePermission{By: p.Client, Note: b.Note, At: a.clock().UTC()}
	}
	state, err := a.run(c, id, true, cmd)
	if err != nil {
		return err
	}
	if approve {
		if err := auth.Grant(ctx, a.db, state.Operator, httpapi.Role(state.Role), state.Region); err != nil {
			return fmt.Errorf("grant %s to %s: %w", state.Role, state.Operator, err)
		}
	}
	return a.respond(c, http.StatusOK, state)
}

func (a *API) get(c echo.Context) error {
	p, _ := httpapi.PrincipalFrom(c)
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return problemFor(domain.NotFound(domain.CodePermissionNotFound, "no such permission request"))
	}
	state, _, err := a.load(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if state.Status == domain.RequestNone {
		return problemFor(domain.NotFound(domain.CodePermissionNotFound, "no such permission request"))
	}
	if !p.Scope().CoversRegion(state.Region) {
		return &httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: p.Scope()}
	}
	return a.respond(c, http.StatusOK, state)
}

// loaded is a request with its recorded events.
type loaded struct {
	domain.PermissionRequest
	recorded []eventstore.RecordedEvent
}

func (a *API) load(ctx context.Context, id string) (loaded, bool, error) {
	stream := domain.PermissionStreamFor(id)
	recs, err := a.store.ReadStream(ctx, stream, 0, 0)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return loaded{}, false, nil
	}
	if err != nil {
		return loaded{}, false, fmt.Errorf("load %s: %w", stream, err)
	}
	var l loaded
	for _, r := range recs {
		e, err := domain.DecodeStoredPermissionEvent(r.Type, r.Data, r.Metadata)
		if err != nil {
			return loaded{}, false, fmt.Errorf("load %s revision %d: %w", stream, r.Revision, err)
		}
		l.Apply(e)
	}
	l.recorded = recs
	return l, len(recs) > 0, nil
}

// run loads, decides and appends at the loaded revision. A concurrent
// decision makes the append fail; deciding again then sees it (decided once).
func (a *API) run(c echo.Context, id string, mustExist bool, cmd domain.PermissionCommand) (loaded, error) {
	ctx := c.Request().Context()
	stream := domain.PermissionStreamFor(id)
	for attempt := 0; ; attempt++ {
		state, exists, err := a.load(ctx, id)
		if err != nil {
			return loaded{}, err
		}
		events, err := domain.DecidePermission(&state.PermissionRequest, cmd)
		if err != nil {
			return loaded{}, problemFor(err)
		}
		data, err := a.envelop(c, stream, events)
		if err != nil {
			return loaded{}, err
		}
		want := eventstore.NoStream()
		if exists {
			want = eventstore.Exact(uint64(len(state.recorded) - 1))
		}
		_, err = a.store.Append(ctx, stream, want, data)
		if errors.Is(err, eventstore.ErrWrongRevision) && attempt < 3 {
			continue
		}
		if err != nil {
			return loaded{}, fmt.Errorf("append %s: %w", stream, err)
		}
		return a.reload(ctx, id)
	}
}

func (a *API) reload(ctx context.Context, id string) (loaded, error) {
	l, _, err := a.load(ctx, id)
	return l, err
}

func (a *API) envelop(c echo.Context, stream string, events []domain.Event) ([]eventstore.EventData, error) {
	p, _ := httpapi.PrincipalFrom(c)
	out := make([]eventstore.EventData, len(events))
	for i, e := range events {
		typ, data, err := domain.EncodePermissionEvent(e)
		if err != nil {
			return nil, err
		}
		id := uuid.New()
		md, err := json.Marshal(domain.Metadata{
			EventID: id.String(), SchemaVersion: domain.SchemaVersion(typ), OccurredAt: a.clock().UTC(),
			Actor:   domain.Actor{Client: p.Client, CertSubject: p.Subject},
			Channel: "http", CorrelationID: httpapi.CorrelationID(c), CausationID: httpapi.RequestID(c), RemoteAddr: c.RealIP(),
		})
		if err != nil {
			return nil, fmt.Errorf("metadata of %s: %w", typ, err)
		}
		out[i] = eventstore.EventData{ID: id, Type: typ, Data: data, Metadata: md}
	}
	return out, nil
}

func (a *API) respond(c echo.Context, status int, l loaded) error {
	v := View{ID: l.ID, Status: l.Status, Operator: l.Operator, Role: l.Role, Region: l.Region, Reason: l.Reason,
		RequestedBy: l.RequestedBy, DecidedBy: l.DecidedBy, Note: l.Note, Revision: l.Version, History: []Step{}}
	for _, r := range l.recorded {
		v.History = append(v.History, Step{Type: r.Type, Data: json.RawMessage(r.Data), RecordedAt: r.RecordedAt.UTC()})
	}
	return c.JSON(status, v)
}

// problemFor turns domain refusals into problems.
func problemFor(err error) error {
	de, ok := domain.AsError(err)
	if !ok {
		return err
	}
	fields := make([]httpapi.FieldError, len(de.Fields))
	for i, f := range de.Fields {
		fields[i] = httpapi.FieldError{Field: f.Field, Code: f.Code, Message: f.Message}
	}
	switch de.Kind {
	case domain.KindInvalid:
		return httpapi.BadRequest(de.Code, de.Message, fields...)
	case domain.KindNotFound:
		return httpapi.NotFound(de.Code, de.Message)
	}
	return httpapi.Conflict(de.Code, de.Message, fields...)
}
