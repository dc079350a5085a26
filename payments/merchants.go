package payments

import (
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/platform"
)

// Request and answer bodies of the merchant routes.
type (
	merchantRequest struct {
		Name       string                   `json:"name"`
		CreditCode string                   `json:"credit_code"`
		MCC        string                   `json:"mcc"`
		Settlement domain.SettlementAccount `json:"settlement"`
	}
	merchantDecision struct {
		Note   string `json:"note,omitempty"`
		Reason string `json:"reason,omitempty"`
	}
	bindRequest struct {
		AppID string `json:"app_id"`
	}
	redeliveryRequest struct {
		FromPosition string `json:"from_position"`
	}
	// MerchantView is a merchant as the API shows it.
	MerchantView struct {
		ID         string                   `json:"id"`
		AccountID  string                   `json:"account_id"`
		Status     domain.MerchantStatus    `json:"status"`
		Name       string                   `json:"name"`
		CreditCode string                   `json:"credit_code"`
		MCC        string                   `json:"mcc"`
		Settlement domain.SettlementAccount `json:"settlement"`
		Apps       []string                 `json:"apps"`
		DecidedBy  string                   `json:"decided_by,omitempty"`
		Note       string                   `json:"note,omitempty"`
		CreatedAt  time.Time                `json:"created_at"`
		Revision   int                      `json:"revision"`
	}
	// MerchantRegistration is the registration's answer: the merchant and
	// the secret that signs its notifications, shown once.
	MerchantRegistration struct {
		Merchant     MerchantView `json:"merchant"`
		NotifySecret string       `json:"notify_secret"`
	}
	// NotificationStatus is where the merchant's notifications stand.
	NotificationStatus struct {
		MerchantID string   `json:"merchant_id"`
		EventTypes []string `json:"event_types"`
		// Position is the last notification delivered or dead-lettered.
		Position      string `json:"position"`
		Delivered     int64  `json:"delivered"`
		Pending       int    `json:"pending"` // order events after Position (every merchant's), at most 10,000 scanned
		PendingCapped bool   `json:"pending_capped"`
		Failures      int    `json:"failures"` // failed calls of the next notification
		LastError     string `json:"last_error"`
		DeadLetters   int    `json:"dead_letters"`
		CreatedAt     string `json:"created_at"`
	}
	// NotifySecret is a new notification secret, shown once.
	NotifySecret struct {
		MerchantID   string `json:"merchant_id"`
		NotifySecret string `json:"notify_secret"`
	}
)

func merchantView(m *domain.Merchant) MerchantView {
	apps := append([]string{}, m.Apps...)
	return MerchantView{ID: m.ID, AccountID: m.AccountID, Status: m.Status, Name: m.Name, CreditCode: m.CreditCode,
		MCC: m.MCC, Settlement: m.Settlement, Apps: apps, DecidedBy: m.DecidedBy, Note: m.Note,
		CreatedAt: m.CreatedAt.UTC(), Revision: m.Version}
}

func (a *API) registerMerchant(c echo.Context) error {
	var b merchantRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	k := callerOf(c)
	if err := k.needApp(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	env := envelope(c)
	id := commands.IDFor("merchant", env.CommandID).String()
	cmd := domain.RegisterMerchant{MerchantID: id, AccountID: k.p.Account, AppID: k.appID, Name: b.Name,
		CreditCode: b.CreditCode, MCC: b.MCC, Settlement: b.Settlement, By: k.p.Client, At: a.now()}
	if _, err := a.merchants.Handle(ctx, id, env, cmd); err != nil {
		return problem(err)
	}
	m, err := a.loadMerchant(ctx, id)
	if err != nil {
		return err
	}
	// After the event: a crash in between is mended by the same request
	// again (its Idempotency-Key), or by rotating the secret.
	secret, created, err := a.d.Notify.EnsureMerchant(ctx, id, k.p.Client)
	if err != nil {
		return err
	}
	if !created {
		return httpapi.NewProblem(http.StatusConflict, domain.CodeMerchantExists,
			"the merchant is registered and its notification secret was shown; rotate it to get a new one")
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusCreated, MerchantRegistration{Merchant: merchantView(m), NotifySecret: secret})
}

// seenMerchant loads merchant {id} if the caller may see it.
func (a *API) seenMerchant(c echo.Context) (*domain.Merchant, error) {
	id := c.Param("id")
	if _, err := uuid.Parse(id); err != nil {
		return nil, problem(domain.NotFound(domain.CodeMerchantNotFound, "no such merchant"))
	}
	m, err := a.loadMerchant(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	return m, callerOf(c).sees(m)
}

func (a *API) getMerchant(c echo.Context) error {
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, merchantView(m))
}

func (a *API) approveMerchant(c echo.Context) error { return a.decideMerchant(c, true) }
func (a *API) rejectMerchant(c echo.Context) error  { return a.decideMerchant(c, false) }

func (a *API) decideMerchant(c echo.Context, approve bool) error {
	var b merchantDecision
	if err := httpapi.DecodeOptionalJSON(c, &b); err != nil {
		return err
	}
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	k := callerOf(c)
	var cmd domain.MerchantCommand = domain.RejectMerchant{By: k.p.Client, Reason: b.Reason, At: a.now()}
	if approve {
		cmd = domain.ApproveMerchant{By: k.p.Client, Note: b.Note, At: a.now()}
	}
	return a.runMerchant(c, m.ID, cmd)
}

func (a *API) bindApp(c echo.Context) error {
	var b bindRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	account, appType, err := platform.AppAccount(c.Request().Context(), a.d.Pool, b.AppID)
	if errors.Is(err, platform.ErrNoApp) || (err == nil && appType != domain.AppFinancialPayment) {
		return problem(domain.NotFound(domain.CodeAppNotFound, "no financial-payment app with that id"))
	}
	if err != nil {
		return err
	}
	return a.runMerchant(c, m.ID, domain.BindMerchantApp{AppID: b.AppID, AppAccount: account, By: callerOf(c).p.Client, At: a.now()})
}

func (a *API) unbindApp(c echo.Context) error {
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	return a.runMerchant(c, m.ID, domain.UnbindMerchantApp{AppID: c.Param("app_id"), By: callerOf(c).p.Client, At: a.now()})
}

func (a *API) runMerchant(c echo.Context, id string, cmd domain.MerchantCommand) error {
	ctx := c.Request().Context()
	if _, err := a.merchants.Handle(ctx, id, envelope(c), cmd); err != nil {
		return problem(err)
	}
	m, err := a.loadMerchant(ctx, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, merchantView(m))
}

func (a *API) notifications(c echo.Context) error {
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	st, err := a.d.Notify.MerchantStatus(c.Request().Context(), m.ID)
	if err != nil {
		return notificationsProblem(err)
	}
	return c.JSON(http.StatusOK, notificationStatus(m.ID, st))
}

func (a *API) deadLetters(c echo.Context) error {
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	out, err := a.d.Notify.MerchantDeadLetters(c.Request().Context(), m.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) redeliver(c echo.Context) error {
	var b redeliveryRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	from, err := eventstore.ParsePosition(b.FromPosition)
	if err != nil {
		return httpapi.BadRequest(httpapi.CodeInvalid, "invalid redelivery",
			httpapi.FieldError{Field: "from_position", Code: "invalid_value", Message: "not a position"})
	}
	st, err := a.d.Notify.RedeliverMerchant(c.Request().Context(), m.ID, from)
	if err != nil {
		return notificationsProblem(err)
	}
	return c.JSON(http.StatusAccepted, notificationStatus(m.ID, st))
}

func (a *API) rotateSecret(c echo.Context) error {
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	secret, err := a.d.Notify.RotateMerchantSecret(c.Request().Context(), m.ID, callerOf(c).p.Client)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, NotifySecret{MerchantID: m.ID, NotifySecret: secret})
}

func notificationsProblem(err error) error {
	if errors.Is(err, deliveries.ErrNotFound) {
		return httpapi.NotFound(deliveries.CodeSubscriptionNotFound, "the merchant has no notifications yet; rotate its secret to make them")
	}
	return err
}

func notificationStatus(merchant string, st deliveries.Status) NotificationStatus {
	return NotificationStatus{MerchantID: merchant, EventTypes: st.EventTypes, Position: st.Position, Delivered: st.Delivered,
		Pending: st.Pending, PendingCapped: st.PendingCapped, Failures: st.Failures, LastError: st.LastError,
		DeadLetters: st.DeadLetters, CreatedAt: st.CreatedAt}
}
