package deliveries

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// API serves the subscription routes.
type API struct {
	store        eventstore.Store
	repo         repo
	keys         *auth.SecretKeys
	allowPrivate bool
}

// NewAPI serves the subscriptions kept in pool; keys seal their signing
// secrets (as NewProjection's open them); allowPrivate is
// CARDLEDGER_DELIVERY_ALLOW_PRIVATE.
func NewAPI(store eventstore.Store, pool *pgxpool.Pool, keys *auth.SecretKeys, allowPrivate bool) *API {
	return &API{store: store, repo: repo{pool}, keys: keys, allowPrivate: allowPrivate}
}

// Deliverable are the event types a subscription may name: the cardholder
// stream's (card life cycle, holder, e-card).
var Deliverable = []string{
	"CardholderRegistered", "CardApplied", "BankAccountOpened", "BankAccountRefused", "CardNumberAssigned",
	"CardProduced", "CardProductionFailed", "CardHandedOver", "CardIssued", "CardActivated",
	"CardReportedLost", "CardTemporarilyLost", "CardUnlocked", "CardCancelled", "CardCancellationRestored",
	"PINReset", "PINChanged", "CardholderTransferredOut", "ECardIssued", "ECardRevoked",
	// The provincial card database (docs/province.md).
	"CardTransferredIn", "ProvincialRecordCancelled",
	// An ID-number change links the old stream and the new one
	// (docs/id-number-change.md); both carry cardholder ids, no identity.
	"IdentityMovedOut", "IdentityMovedIn",
}

type createBody struct {
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Region     string   `json:"region,omitempty"`
	Bank       string   `json:"bank,omitempty"`
}

// Status is a subscription as its owner sees it.
type Status struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	EventTypes []string `json:"event_types"`
	Region     string   `json:"region"`
	Bank       string   `json:"bank"`
	Owner      string   `json:"owner"`
	// Position is the last event delivered or dead-lettered.
	Position  string `json:"position"`
	Delivered int64  `json:"delivered"`
	// Pending counts the events of the subscribed types after Position
	// (before the region and bank filters), at most pendingScan scanned;
	// PendingCapped says the scan stopped there.
	Pending       int    `json:"pending"`
	PendingCapped bool   `json:"pending_capped"`
	Failures      int    `json:"failures"` // failed calls of the next event
	LastError     string `json:"last_error"`
	DeadLetters   int    `json:"dead_letters"`
	CreatedAt     string `json:"created_at"`
}

// Created is the creation's answer: the status and the secret, shown once.
type Created struct {
	Status
	Secret string `json:"secret"`
}

// DeadLetterView is one dead letter.
type DeadLetterView struct {
	EventID   string `json:"event_id"`
	Position  string `json:"position"`
	Type      string `json:"type"`
	Stream    string `json:"stream"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
	At        string `json:"at"`
}

// DeadLetters is the dead-letter list.
type DeadLetters struct {
	DeadLetters []DeadLetterView `json:"dead_letters"`
}

type redeliveryBody struct {
	FromPosition string `json:"from_position"`
}

var roles = []httpapi.Role{httpapi.RoleBank} // and admin, always

// Routes is the subscription route table.
func (a *API) Routes() []httpapi.Route {
	st := Status{ID: "4b4f0e52-8a53-4f55-9d0e-6c1f2a3b4c5d", URL: "https://203.0.113.10/cardledger/events",
		EventTypes: []string{"CardReportedLost", "CardUnlocked"}, Region: "320500", Bank: "ICBC", Owner: "icbc-suzhou",
		Position: "2ded3-1", Delivered: 42, Pending: 3, Failures: 1, LastError: "receiver answered 500", DeadLetters: 0,
		CreatedAt: "2026-12-05T12:00:00Z"}
	notFound := httpapi.Response{Status: http.StatusNotFound, Description: "subscription_not_found (none, or another bank's)"}
	return []httpapi.Route{
		{Method: http.MethodPost, Path: "/v1/subscriptions", Roles: roles, Status: http.StatusCreated,
			Summary: "Subscribe a receiver URL to event types (optionally one region): a bank client's subscription carries " +
				"only its bank's cards; an admin's carries every bank's unless it names one. The answer shows the signing " +
				"secret once (docs/deliveries.md)",
			Request:  createBody{URL: st.URL, EventTypes: st.EventTypes, Region: "320500"},
			Response: Created{Status: st, Secret: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
			Responses: []httpapi.Response{
				{Status: http.StatusForbidden, Description: "scope_bank (a bank client naming another bank), scope_region " +
					"(a region outside the client's), subscription_needs_bank (a bank client without a bank), forbidden"},
				{Status: http.StatusUnprocessableEntity, Description: "receiver_not_public: the URL's host is or resolves to " +
					"a loopback, private or link-local address (allowed only with CARDLEDGER_DELIVERY_ALLOW_PRIVATE=true)"},
			},
			MaxBody: 16 << 10, Handler: a.create},
		{Method: http.MethodGet, Path: "/v1/subscriptions/{id}", Roles: roles,
			Summary:  "Delivery status: position delivered, pending events, failures of the next event, dead letters",
			Response: st, Responses: []httpapi.Response{notFound}, Handler: a.status},
		{Method: http.MethodGet, Path: "/v1/subscriptions/{id}/dead-letters", Roles: roles,
			Summary: "Events given up after the last retry, in log order; redeliver them with /redelivery",
			Response: DeadLetters{DeadLetters: []DeadLetterView{{EventID: "0b5e5d0a-4b0e-5c4e-9a57-2a1f3c4d5e6f", Position: "2ded3-1",
				Type: "CardReportedLost", Stream: "cardholder-077a70c7", Attempts: 8, LastError: "receiver answered 500",
				At: "2026-12-05T12:05:00Z"}}},
			Responses: []httpapi.Response{notFound}, Handler: a.deadLetters},
		{Method: http.MethodPost, Path: "/v1/subscriptions/{id}/redelivery", Roles: roles, Status: http.StatusAccepted,
			Summary: "Deliver again every matching event after from_position (\"\" is the start of the log); " +
				"receivers recognise repeats by event_id",
			Request: redeliveryBody{FromPosition: "2ded3-0"}, Response: st,
			Responses: []httpapi.Response{notFound}, MaxBody: 4 << 10, Handler: a.redeliver},
		{Method: http.MethodPost, Path: "/v1/subscriptions/{id}/secret", Roles: roles,
			Summary: "Replace the signing secret and show the new one once; every delivery attempt from now on is " +
				"signed with it",
			Response:  Created{Status: st, Secret: "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"},
			Responses: []httpapi.Response{notFound}, Handler: a.rotate},
	}
}

// rotate gives a visible subscription a new signing secret.
func (a *API) rotate(c echo.Context) error {
	s, err := a.visible(c)
	if err != nil {
		return err
	}
	secret, err := a.replaceSecret(c.Request().Context(), s.ID, s.secretLabel())
	if err != nil {
		return err
	}
	st, err := a.statusOf(c.Request().Context(), s.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, Created{Status: st, Secret: secret})
}

// replaceSecret stores a new secret, sealed under label, for subscription
// id and returns it in clear (shown once).
func (a *API) replaceSecret(ctx context.Context, id uuid.UUID, label string) (string, error) {
	secret, sealed, err := newSecret(a.keys, label)
	if err != nil {
		return "", err
	}
	if _, err := a.repo.pool.Exec(ctx, `UPDATE deliveries.subscriptions SET secret = $2 WHERE id = $1`, id, sealed); err != nil {
		return "", fmt.Errorf("deliveries: replace the secret of %s: %w", id, err)
	}
	return secret, nil
}

func (a *API) create(c echo.Context) error {
	var b createBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	p, _ := httpapi.PrincipalFrom(c)
	scope := p.Scope()
	var fields []httpapi.FieldError
	if code, msg := checkReceiverURL(c.Request().Context(), b.URL, true); code != "" {
		fields = append(fields, httpapi.FieldError{Field: "url", Code: code, Message: msg})
	}
	if len(b.EventTypes) == 0 {
		fields = append(fields, httpapi.FieldError{Field: "event_types", Code: "required", Message: "name at least one event type"})
	}
	for _, t := range b.EventTypes {
		if !slices.Contains(Deliverable, t) {
			fields = append(fields, httpapi.FieldError{Field: "event_types", Code: "invalid_value",
				Message: "unknown event type " + t + "; one of " + strings.Join(Deliverable, ", ")})
		}
	}
	if b.Region != "" && domain.ValidateRegionCode(b.Region) != nil {
		fields = append(fields, httpapi.FieldError{Field: "region", Code: "invalid_region_code", Message: "not a known region code"})
	}
	if len(fields) > 0 {
		return httpapi.BadRequest(httpapi.CodeInvalid, "invalid subscription", fields...)
	}
	if p.Role == httpapi.RoleBank && p.Bank == "" {
		return httpapi.NewProblem(http.StatusForbidden, CodeSubscriptionNeedsBank, "a bank client needs a bank scope to subscribe")
	}
	if scope.Bank != "" {
		if b.Bank != "" && b.Bank != scope.Bank {
			return (&httpapi.ScopeError{Code: httpapi.CodeScopeBank, Scope: scope}).Problem()
		}
		b.Bank = scope.Bank
	}
	if b.Bank != "" {
		for _, t := range b.EventTypes {
			if slices.Contains(notForBanks, t) {
				return httpapi.BadRequest(httpapi.CodeInvalid, "invalid subscription", httpapi.FieldError{Field: "event_types",
					Code: CodeNotForBankSubscriptions, Message: t + " carries a holder's identity, which a bank gets only with its " +
						"own card's application (CardApplied.holder); leave it out"})
			}
		}
	}
	if scope.Region != "" {
		if b.Region == "" {
			b.Region = scope.Region
		} else if !httpapi.RegionCovers(scope.Region, b.Region) {
			return (&httpapi.ScopeError{Code: httpapi.CodeScopeRegion, Scope: scope}).Problem()
		}
	}
	if code, msg := checkReceiverURL(c.Request().Context(), b.URL, a.allowPrivate); code != "" {
		return httpapi.Unprocessable(code, msg, httpapi.FieldError{Field: "url", Code: code, Message: msg})
	}
	// New subscriptions start at the head: what happened before is
	// available through redelivery from a position.
	head, ok, err := a.store.Head(c.Request().Context())
	if err != nil {
		return err
	}
	start := eventstore.Start
	if ok {
		start = head.Position
	}
	s := Subscription{ID: uuid.New(), Owner: p.Client, URL: b.URL, EventTypes: b.EventTypes, Region: b.Region,
		Bank: b.Bank, Position: start}
	secret, sealed, err := newSecret(a.keys, s.secretLabel())
	if err != nil {
		return err
	}
	s.sealedSecret = sealed
	if _, err := a.repo.insert(c.Request().Context(), s); err != nil {
		return err
	}
	st, err := a.statusOf(c.Request().Context(), s.ID)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, Created{Status: st, Secret: secret})
}

// visible loads the subscription if the caller may see it: admins any, a
// bank client its bank's.
func (a *API) visible(c echo.Context) (Subscription, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return Subscription{}, httpapi.NotFound(CodeSubscriptionNotFound, "no such subscription")
	}
	s, err := a.repo.get(c.Request().Context(), id)
	if errors.Is(err, ErrNotFound) {
		return Subscription{}, httpapi.NotFound(CodeSubscriptionNotFound, "no such subscription")
	}
	if err != nil {
		return Subscription{}, err
	}
	p, _ := httpapi.PrincipalFrom(c)
	if p.Role != httpapi.RoleAdmin && (p.Bank == "" || s.Bank != p.Bank) {
		return Subscription{}, httpapi.NotFound(CodeSubscriptionNotFound, "no such subscription")
	}
	return s, nil
}

func (a *API) status(c echo.Context) error {
	s, err := a.visible(c)
	if err != nil {
		return err
	}
	st, err := a.statusOf(c.Request().Context(), s.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, st)
}

// pendingScan bounds the events the status reads to count what is pending.
const pendingScan = 10000

func (a *API) statusOf(ctx context.Context, id uuid.UUID) (Status, error) {
	s, err := a.repo.get(ctx, id)
	if err != nil {
		return Status{}, err
	}
	dead, err := a.repo.deadLetters(ctx, id)
	if err != nil {
		return Status{}, err
	}
	st := Status{ID: s.ID.String(), URL: s.URL, EventTypes: s.EventTypes, Region: s.Region, Bank: s.Bank, Owner: s.Owner,
		Position: s.Position.String(), Delivered: s.Delivered, Failures: s.Attempts, LastError: s.LastError,
		DeadLetters: len(dead), CreatedAt: s.CreatedAt.UTC().Format(time.RFC3339)}
	pos, scanned := s.Position, 0
	for scanned < pendingScan {
		events, err := a.store.ReadAll(ctx, pos, 1000)
		if err != nil {
			return Status{}, err
		}
		for _, ev := range events {
			if slices.Contains(s.EventTypes, ev.Type) {
				st.Pending++
			}
		}
		scanned += len(events)
		if len(events) < 1000 {
			return st, nil
		}
		pos = events[len(events)-1].Position
	}
	st.PendingCapped = true
	return st, nil
}

func (a *API) deadLetters(c echo.Context) error {
	s, err := a.visible(c)
	if err != nil {
		return err
	}
	dead, err := a.repo.deadLetters(c.Request().Context(), s.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, deadLetterViews(dead))
}

func deadLetterViews(dead []DeadLetter) DeadLetters {
	out := DeadLetters{DeadLetters: make([]DeadLetterView, len(dead))}
	for i, d := range dead {
		out.DeadLetters[i] = DeadLetterView{EventID: d.EventID.String(), Position: d.Position.String(), Type: d.Type,
			Stream: d.Stream, Attempts: d.Attempts, LastError: d.LastError, At: d.At.UTC().Format(time.RFC3339)}
	}
	return out
}

func (a *API) redeliver(c echo.Context) error {
	s, err := a.visible(c)
	if err != nil {
		return err
	}
	var b redeliveryBody
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	from, err := eventstore.ParsePosition(b.FromPosition)
	if err != nil {
		return httpapi.BadRequest(httpapi.CodeInvalid, "invalid redelivery",
			httpapi.FieldError{Field: "from_position", Code: "invalid_value", Message: "not a position"})
	}
	if err := a.repo.rewind(c.Request().Context(), s.ID, from); err != nil {
		return err
	}
	st, err := a.statusOf(c.Request().Context(), s.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, st)
}
