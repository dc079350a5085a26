package notifications

import (
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// API is the notifier's status and redelivery routes.
type API struct {
	repo    repo
	enabled bool
	// notifier redelivers dead letters; nil: this server runs none.
	notifier *Projection
}

// WithRedelivery makes the redelivery route send through p (the notifier
// this server built with its configured media).
func (a *API) WithRedelivery(p *Projection) *API {
	a.notifier = p
	return a
}

// NewAPI serves the status of the notifier whose tables are in pool;
// enabled says whether this deployment configured a medium.
func NewAPI(pool *pgxpool.Pool, enabled bool) *API {
	return &API{repo: repo{pool: pool, name: ProjectionName}, enabled: enabled}
}

// Status is the answer of GET /v1/notifications/status.
type Status struct {
	Enabled     bool             `json:"enabled"`
	Position    string           `json:"position,omitempty"`
	Sent        int64            `json:"sent"`
	Failures    int              `json:"failures"`
	LastError   string           `json:"last_error,omitempty"`
	DeadLetters []DeadLetterView `json:"dead_letters"`
}

// DeadLetterView is one message given up on.
type DeadLetterView struct {
	EventID   string `json:"event_id"`
	Index     int    `json:"index"`
	Position  string `json:"position"`
	Stream    string `json:"stream"`
	Kind      string `json:"kind"`
	Medium    Medium `json:"medium"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
	At        string `json:"at"`
}

// Routes is the notifier's route table.
func (a *API) Routes() []httpapi.Route {
	example := Status{Enabled: true, Position: "2ded3-2ded3", Sent: 1042, Failures: 2, LastError: "sms gateway answered 503",
		DeadLetters: []DeadLetterView{{EventID: "0b5e5d0a-4b0e-5c4e-9a57-2a1f3c4d5e6f", Index: 1, Position: "2dd01-2dd01",
			Stream: "cardholder-077a70c7", Kind: KindCardActivated, Medium: Email, Attempts: 8,
			LastError: "smtp: RCPT TO: 550 mailbox unavailable", At: "2026-12-05T12:05:00Z"}}}
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/notifications/status", Roles: []httpapi.Role{httpapi.RoleAdmin},
			Summary: "Notifier status (docs/notifications.md): whether a medium is configured, the log position notified, " +
				"messages sent, failed attempts on the message in flight and the dead letters (never a recipient or text)",
			Response: example, Handler: a.status},
		{Method: http.MethodPost, Path: "/v1/notifications/dead-letters/{id}/redelivery", Roles: []httpapi.Role{httpapi.RoleAdmin},
			Summary: "Send a dead letter once more (docs/notifications.md); id is the message id <event id>-<index> of the status. " +
				"Composed again from its event with the holder's recipient and opt-out of now, sent with the same message id " +
				"(at least once: a receiver recognises a duplicate by it). Sent or withdrawn (nothing to send any more): " +
				"the dead letter is gone; refused again: it stays, with the new error",
			Response: Redelivered{MessageID: "0b5e5d0a-4b0e-5c4e-9a57-2a1f3c4d5e6f-1", Kind: KindCardActivated, Medium: Email, Outcome: RedeliverySent},
			Responses: []httpapi.Response{
				{Status: http.StatusNotFound, Description: "No dead letter has this message id (notification_dead_letter_not_found)"},
				{Status: http.StatusBadGateway, Description: "The medium refused it again (notification_redelivery_failed); the dead letter stays"},
				{Status: http.StatusConflict, Description: "This server sends no notifications (notifications_off): redeliver from one that does"},
			},
			Handler: a.redeliver},
	}
}

func (a *API) redeliver(c echo.Context) error {
	if a.notifier == nil {
		return httpapi.Conflict("notifications_off", "this server sends no notifications (no SMS gateway or SMTP server configured)")
	}
	eventID, idx, err := ParseMessageID(c.Param("id"))
	if err != nil {
		return httpapi.NotFound("notification_dead_letter_not_found", err.Error())
	}
	out, err := a.notifier.Redeliver(c.Request().Context(), eventID, idx)
	switch {
	case errors.Is(err, ErrDeadLetterNotFound):
		return httpapi.NotFound("notification_dead_letter_not_found", "no dead letter has message id "+c.Param("id"))
	case errors.Is(err, ErrRedeliveryFailed):
		return httpapi.NewProblem(http.StatusBadGateway, "notification_redelivery_failed", err.Error())
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) status(c echo.Context) error {
	st := Status{Enabled: a.enabled, DeadLetters: []DeadLetterView{}}
	if !a.enabled {
		return c.JSON(http.StatusOK, st)
	}
	ctx := c.Request().Context()
	p, err := a.repo.load(ctx)
	if err != nil {
		return err
	}
	dead, err := a.repo.deadLetters(ctx)
	if err != nil {
		return err
	}
	st.Position, st.Sent, st.Failures, st.LastError = p.Position.String(), p.Sent, p.Attempts, p.LastError
	for _, d := range dead {
		st.DeadLetters = append(st.DeadLetters, DeadLetterView{EventID: d.EventID.String(), Index: d.Index,
			Position: d.Position.String(), Stream: d.Stream, Kind: d.Kind, Medium: d.Medium, Attempts: d.Attempts,
			LastError: d.LastError, At: d.At.UTC().Format(time.RFC3339)})
	}
	return c.JSON(http.StatusOK, st)
}
