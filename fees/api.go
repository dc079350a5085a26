package fees

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Problem codes of this package (internal/problemcodes lists them).
const (
	CodePOSUnavailable   = "pos_unavailable"    // 502: the POS did not acknowledge the notice after its tries
	CodePOSRefused       = "pos_refused"        // 502: the POS answered the notice with a client error
	CodePOSNotConfigured = "pos_not_configured" // 503: CARDLEDGER_POS_URL is not set
	CodePaymentIDReused  = "payment_id_reused"  // 409: the payment id was reported for another application
)

// FeeLister is the read model the daily report reads (batch.ReadModel).
type FeeLister interface {
	FeesOn(ctx context.Context, day string) ([]batch.FeeRow, error)
}

// API is the fee routes.
type API struct {
	cmds   *commands.Service
	pool   *pgxpool.Pool
	fees   FeeLister
	pos    NoticeSender // nil: no POS configured
	caught func(ctx context.Context) error
}

// NewAPI wires the routes. pos may be nil (collection answers
// pos_not_configured); catchUp brings fees up to date before a report
// (batch.Service's catch-up), nil reads it as it is.
func NewAPI(cmds *commands.Service, pool *pgxpool.Pool, fees FeeLister, pos NoticeSender, catchUp func(context.Context) error) *API {
	return &API{cmds: cmds, pool: pool, fees: fees, pos: pos, caught: catchUp}
}

// Migrate creates the payment-id reservations; idempotent.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := pool.Exec(ctx, `CREATE TABLE IF NOT EXISTS fee_payments (
		payment_id     text PRIMARY KEY,
		cardholder_id  text NOT NULL,
		application_id text NOT NULL,
		reserved_at    timestamptz NOT NULL DEFAULT now()
	)`)
	if err != nil {
		return fmt.Errorf("fees: migrate: %w", err)
	}
	return nil
}

// Payment is the POS gateway's report of one collected fee.
type Payment struct {
	PaymentID     string    `json:"payment_id"`
	CardholderID  string    `json:"cardholder_id"`
	ApplicationID string    `json:"application_id"`
	AmountFen     int64     `json:"amount_fen"`
	Terminal      string    `json:"terminal,omitempty"`
	PaidAt        time.Time `json:"paid_at"`
}

// PaymentAnswer is the answer to a payment report.
type PaymentAnswer struct {
	PaymentID     string `json:"payment_id"`
	CardholderID  string `json:"cardholder_id"`
	ApplicationID string `json:"application_id"`
	// Recorded is false when this payment had already been recorded (a
	// repeated report): nothing was written this time.
	Recorded bool   `json:"recorded"`
	Revision uint64 `json:"revision"`
}

// CollectionAnswer is the answer to a collection: the notice the POS took.
type CollectionAnswer struct {
	Notice Notice `json:"notice"`
}

var (
	examplePaidAt  = time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)
	examplePayment = Payment{PaymentID: "FS20260302-000123", CardholderID: "0123456789abcdef0123456789abcdef",
		ApplicationID: "6f1d2c5e-8a43-4b8e-9c0a-3e7b1f52d9a4", AmountFen: 2000, Terminal: "sg-fs-01", PaidAt: examplePaidAt}
	exampleNotice = Notice{NoticeNo: examplePayment.ApplicationID, CardholderID: examplePayment.CardholderID,
		ApplicationID: examplePayment.ApplicationID, AmountFen: 2000}
)

// Routes is the fee module's route table.
func (a *API) Routes() []httpapi.Route {
	return []httpapi.Route{
		{
			Method: http.MethodPost, Path: "/v1/cardholders/{id}/fee/collection", Roles: []httpapi.Role{httpapi.RoleCounter},
			Summary: "Send the current application's unpaid replacement fee (工本费) to the non-tax POS as a payment notice " +
				"(notice_no: the application id; sending again is safe). 409 no_fee_due when nothing is due; " +
				"502 pos_unavailable when the POS times out or answers garbage on every try, pos_refused on its 4xx",
			Handler: a.collect, Response: CollectionAnswer{Notice: exampleNotice}, Status: http.StatusAccepted,
			Responses: httpapi.Problems(http.StatusNotFound, http.StatusConflict, http.StatusBadGateway),
		},
		{
			Method: http.MethodPost, Path: "/v1/fees/payments", Roles: []httpapi.Role{httpapi.RolePOS},
			Summary: "The non-tax POS reports a collected replacement fee; recorded once per payment_id (a repeated report " +
				"answers recorded=false). fee_amount_mismatch, fee_already_paid (another payment paid it), no_fee_due, " +
				"fee_not_found (not the holder's current application), payment_id_reused (the id paid another application)",
			Request: examplePayment, Handler: a.payment,
			Response:  PaymentAnswer{PaymentID: examplePayment.PaymentID, CardholderID: examplePayment.CardholderID, ApplicationID: examplePayment.ApplicationID, Recorded: true, Revision: 9},
			Responses: httpapi.Problems(http.StatusNotFound, http.StatusConflict),
		},
		a.reportRoute(),
	}
}

func (a *API) collect(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	loaded, err := a.cmds.Repository.Load(ctx, id)
	if err != nil {
		return err
	}
	h := loaded.State
	p, _ := httpapi.PrincipalFrom(c)
	if !h.Registered {
		return commands.ProblemFor(domain.NotFound(domain.CodeCardholderNotFound, "cardholder %s is not registered", id))
	}
	if err := p.Scope().Check(h.Profile.RegionCode, ""); err != nil {
		return err
	}
	if h.Card == nil || !h.Card.Fee.Due() {
		return commands.ProblemFor(domain.Conflict(domain.CodeNoFeeDue, "cardholder %s has no unpaid replacement fee", id))
	}
	if a.pos == nil {
		return httpapi.NewProblem(http.StatusServiceUnavailable, CodePOSNotConfigured, "no non-tax POS is configured (CARDLEDGER_POS_URL)")
	}
	n := Notice{NoticeNo: h.Card.ApplicationID, CardholderID: id, ApplicationID: h.Card.ApplicationID, AmountFen: h.Card.Fee.AmountFen}
	if err := a.pos.SendNotice(ctx, n); err != nil {
		code := CodePOSUnavailable
		if errors.Is(err, ErrPOSRefused) {
			code = CodePOSRefused
		}
		return httpapi.NewProblem(http.StatusBadGateway, code, err.Error())
	}
	return c.JSON(http.StatusAccepted, CollectionAnswer{Notice: n})
}

// paymentNamespace derives a payment's command id (never change it: the
// ids of recorded payment events depend on it).
var paymentNamespace = uuid.MustParse("0b6c1f0e-52a3-4d7e-9b1c-7f3e2a8d4c61")

func (a *API) payment(c echo.Context) error {
	var p Payment
	if err := httpapi.DecodeJSON(c, &p); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if p.PaymentID == "" || p.CardholderID == "" {
		var fields []httpapi.FieldError
		for name, v := range map[string]string{"payment_id": p.PaymentID, "cardholder_id": p.CardholderID} {
			if v == "" {
				fields = append(fields, httpapi.FieldError{Field: name, Code: domain.CodeRequired, Message: name + " is required"})
			}
		}
		return httpapi.BadRequest(domain.CodeInvalidCommand, "invalid payment", fields...)
	}
	fresh, err := a.reserve(ctx, p)
	if err != nil {
		return err
	}
	principal, _ := httpapi.PrincipalFrom(c)
	env := commands.NewEnvelope(domain.Actor{Client: principal.Client}, "pos")
	env.CommandID = uuid.NewSHA1(paymentNamespace, []byte("pos-payment\x00"+p.PaymentID))
	env.CorrelationID, env.CausationID, env.RemoteAddr = httpapi.CorrelationID(c), httpapi.RequestID(c), c.RealIP()
	env.Scope = principal.Scope() // a gateway bound to a region reports its region's fees only
	res, err := a.cmds.Cardholder.Handle(ctx, commands.CardholderCommand{Envelope: env, CardholderID: p.CardholderID,
		Command: domain.RecordFeePayment{ApplicationID: p.ApplicationID, PaymentID: p.PaymentID, AmountFen: p.AmountFen,
			Terminal: p.Terminal, PaidAt: p.PaidAt}})
	if err != nil {
		if _, refused := domain.AsError(err); refused && fresh {
			// Nothing was recorded: the id is free for a corrected report.
			if _, derr := a.pool.Exec(context.WithoutCancel(ctx), "DELETE FROM fee_payments WHERE payment_id = $1", p.PaymentID); derr != nil {
				return errors.Join(err, derr)
			}
		}
		if prob := commands.ProblemFor(err); prob != nil {
			return prob
		}
		return err
	}
	return c.JSON(http.StatusOK, PaymentAnswer{PaymentID: p.PaymentID, CardholderID: p.CardholderID, ApplicationID: p.ApplicationID,
		Recorded: !res.Replayed, Revision: res.Revision})
}

// reserve claims p's payment id for its application; fresh is whether
// this call claimed it. An id claimed for another application is refused.
func (a *API) reserve(ctx context.Context, p Payment) (fresh bool, err error) {
	tag, err := a.pool.Exec(ctx, `INSERT INTO fee_payments (payment_id, cardholder_id, application_id) VALUES ($1, $2, $3)
		ON CONFLICT (payment_id) DO NOTHING`, p.PaymentID, p.CardholderID, p.ApplicationID)
	if err != nil {
		return false, fmt.Errorf("reserve payment %s: %w", p.PaymentID, err)
	}
	if tag.RowsAffected() == 1 {
		return true, nil
	}
	var holder, app string
	err = a.pool.QueryRow(ctx, "SELECT cardholder_id, application_id FROM fee_payments WHERE payment_id = $1", p.PaymentID).Scan(&holder, &app)
	if errors.Is(err, pgx.ErrNoRows) {
		return a.reserve(ctx, p) // released meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("reserve payment %s: %w", p.PaymentID, err)
	}
	if holder != p.CardholderID || app != p.ApplicationID {
		return false, httpapi.NewProblem(http.StatusConflict, CodePaymentIDReused,
			fmt.Sprintf("payment %s was reported for another application", p.PaymentID))
	}
	return false, nil
}
