package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/platform"
)

// Fen is an amount in fen as a request carries it: a JSON integer. Any
// other JSON (a fraction, a string, an exponent) reads as an invalid
// amount, which the domain refuses with order_amount_invalid like zero or
// a negative amount, rather than as a malformed body.
type Fen int64

// invalidFen stands for an amount that is not a whole number of fen.
const invalidFen Fen = math.MinInt64

// UnmarshalJSON implements json.Unmarshaler.
func (f *Fen) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || (b[0] != '-' && (b[0] < '0' || b[0] > '9')) {
		*f = invalidFen // a string, null, an object: not a number of fen
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var n json.Number
	if err := d.Decode(&n); err != nil {
		*f = invalidFen
		return nil
	}
	v, err := n.Int64()
	if err != nil {
		*f = invalidFen
		return nil
	}
	*f = Fen(v)
	return nil
}

// Request and answer bodies of the order routes.
type (
	orderRequest struct {
		MerchantID      string `json:"merchant_id"`
		MerchantOrderNo string `json:"merchant_order_no"`
		AmountFen       Fen    `json:"amount_fen"`
		Description     string `json:"description"`
		NotifyURL       string `json:"notify_url"`
	}
	paymentRequest struct {
		PaymentCode string `json:"payment_code"`
	}
	confirmationRequest struct {
		CardholderID string `json:"cardholder_id"`
	}
	closeRequest struct {
		Reason string `json:"reason,omitempty"`
	}
	refundRequest struct {
		RefundNo  string `json:"refund_no"`
		AmountFen Fen    `json:"amount_fen"`
		Reason    string `json:"reason,omitempty"`
	}
	// RefundView is one refund of an order.
	RefundView struct {
		RefundNo     string    `json:"refund_no"`
		AmountFen    int64     `json:"amount_fen"`
		BankRefundID string    `json:"bank_refund_id"`
		At           time.Time `json:"at"`
	}
	// OrderView is an order as the API shows it.
	OrderView struct {
		ID              string             `json:"id"`
		MerchantID      string             `json:"merchant_id"`
		MerchantOrderNo string             `json:"merchant_order_no"`
		AppID           string             `json:"app_id"`
		Status          domain.OrderStatus `json:"status"`
		AmountFen       int64              `json:"amount_fen"`
		Description     string             `json:"description"`
		NotifyURL       string             `json:"notify_url"`
		CreatedAt       time.Time          `json:"created_at"`
		Method          string             `json:"method,omitempty"`
		Channel         string             `json:"channel,omitempty"`
		BankCode        string             `json:"bank_code,omitempty"`
		BankTxnID       string             `json:"bank_txn_id,omitempty"`
		PaidFen         int64              `json:"paid_fen"`
		PaidAt          *time.Time         `json:"paid_at,omitempty"`
		RefundedFen     int64              `json:"refunded_fen"`
		Refunds         []RefundView       `json:"refunds"`
		Reason          string             `json:"reason,omitempty"`
		Revision        int                `json:"revision"`
	}
)

func orderView(o *domain.PaymentOrder) OrderView {
	v := OrderView{ID: o.ID, MerchantID: o.MerchantID, MerchantOrderNo: o.MerchantOrderNo, AppID: o.AppID, Status: o.Status,
		AmountFen: o.AmountFen, Description: o.Description, NotifyURL: o.NotifyURL, CreatedAt: o.CreatedAt.UTC(),
		Method: o.Method, Channel: o.Channel, BankCode: o.BankCode, BankTxnID: o.BankTxnID, PaidFen: o.PaidFen,
		RefundedFen: o.RefundedFen, Refunds: []RefundView{}, Reason: o.Reason, Revision: o.Version}
	if !o.PaidAt.IsZero() {
		t := o.PaidAt.UTC()
		v.PaidAt = &t
	}
	for _, r := range o.Refunds {
		v.Refunds = append(v.Refunds, RefundView{RefundNo: r.RefundNo, AmountFen: r.AmountFen, BankRefundID: r.BankRefundID, At: r.At.UTC()})
	}
	return v
}

func (a *API) createOrder(c echo.Context) error {
	var b orderRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	k := callerOf(c)
	if err := k.needApp(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if _, err := uuid.Parse(b.MerchantID); err != nil {
		return problem(domain.NotFound(domain.CodeMerchantNotFound, "no such merchant"))
	}
	m, err := a.loadMerchant(ctx, b.MerchantID)
	if err != nil {
		return err
	}
	if err := m.Takes(k.appID); err != nil {
		return problem(err)
	}
	id := domain.PaymentOrderIDFor(m.ID, b.MerchantOrderNo)
	cmd := domain.CreatePaymentOrder{OrderID: id, MerchantID: m.ID, MerchantOrderNo: b.MerchantOrderNo, AppID: k.appID,
		AmountFen: int64(b.AmountFen), Description: b.Description, NotifyURL: b.NotifyURL, At: a.now()}
	// The domain's checks first (the amount's code wins), then whether the
	// notify_url may be called at all.
	if _, err := domain.DecidePaymentOrder(&domain.PaymentOrder{}, cmd); err != nil {
		return problem(err)
	}
	if code, msg := deliveries.CheckReceiverURL(ctx, b.NotifyURL, a.d.AllowPrivate); code != "" {
		return httpapi.Unprocessable(code, msg, httpapi.FieldError{Field: "notify_url", Code: code, Message: msg})
	}
	out, err := a.orders.Handle(ctx, id, envelope(c), cmd)
	if err != nil {
		return problem(err)
	}
	status := http.StatusCreated
	if len(out.Events) == 0 {
		status = http.StatusOK // the same order again
	}
	return c.JSON(status, orderView(out.State))
}

// seenOrder loads order {id} for a caller bound to its merchant (an app
// of the merchant; an administrator sees every order).
func (a *API) seenOrder(c echo.Context) (*domain.PaymentOrder, error) {
	id := c.Param("id")
	notFound := problem(domain.NotFound(domain.CodeOrderNotFound, "no such order"))
	if _, err := uuid.Parse(id); err != nil {
		return nil, notFound
	}
	ctx := c.Request().Context()
	l, err := a.orders.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	o := l.State
	if o.Status == domain.OrderNone {
		return nil, notFound
	}
	k := callerOf(c)
	if k.admin() || k.p.Role == httpapi.RoleChannel {
		return o, nil
	}
	m, err := a.loadMerchant(ctx, o.MerchantID)
	if err != nil {
		return nil, err
	}
	if k.appID == "" || !containsApp(m, k.appID) {
		return nil, notFound
	}
	return o, nil
}

func containsApp(m *domain.Merchant, app string) bool {
	for _, a := range m.Apps {
		if a == app {
			return true
		}
	}
	return false
}

func (a *API) getOrder(c echo.Context) error {
	o, err := a.seenOrder(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, orderView(o))
}

func (a *API) getOrderByNumber(c echo.Context) error {
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	l, err := a.orders.Load(c.Request().Context(), domain.PaymentOrderIDFor(m.ID, c.Param("no")))
	if err != nil {
		return err
	}
	if l.State.Status == domain.OrderNone {
		return problem(domain.NotFound(domain.CodeOrderNotFound, "no such order"))
	}
	return c.JSON(http.StatusOK, orderView(l.State))
}

// pay is the merchant scanning the holder's payment code.
func (a *API) pay(c echo.Context) error {
	var b paymentRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.PaymentCode == "" {
		return httpapi.BadRequest(ecard.CodeMalformed, "payment_code is required",
			httpapi.FieldError{Field: "payment_code", Code: "required", Message: "payment_code is required"})
	}
	k := callerOf(c)
	if err := k.needApp(); err != nil {
		return err
	}
	// Scanning a payment code is the e-card QR channel: the app must serve
	// it (its channels as they are now, on every instance).
	serves, err := platform.AppServes(c.Request().Context(), a.d.Pool, k.appID, domain.AppChannelECardQR)
	if err != nil && !errors.Is(err, platform.ErrNoApp) {
		return err
	}
	if !serves {
		return httpapi.NewProblem(http.StatusForbidden, platform.CodeAppChannel,
			"the app does not serve the e-card QR channel (ecard_qr): it may not scan payment codes")
	}
	return a.settle(c, domain.PayByCode, func(ctx context.Context) (ecard.Payer, error) {
		return a.d.Codes.Redeem(ctx, ecard.RequestOf(c), b.PaymentCode)
	})
}

// confirm is the holder confirming the order in the channel's app.
func (a *API) confirm(c echo.Context) error {
	var b confirmationRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if b.CardholderID == "" {
		return httpapi.BadRequest(httpapi.CodeInvalid, "cardholder_id is required",
			httpapi.FieldError{Field: "cardholder_id", Code: "required", Message: "cardholder_id is required"})
	}
	return a.settle(c, domain.PayByOnline, func(ctx context.Context) (ecard.Payer, error) {
		return a.d.Codes.OnlinePayer(ctx, ecard.RequestOf(c), b.CardholderID)
	})
}

// settle pays order {id}: under the order's lock, check it is payable,
// find the payer, ask the bank, record its answer. A payer found but no
// answer from the bank records nothing and gives the code back.
func (a *API) settle(c echo.Context, method string, payer func(context.Context) (ecard.Payer, error)) error {
	o, err := a.seenOrder(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	return a.locked(ctx, o.ID, func() error {
		l, err := a.orders.Load(ctx, o.ID)
		if err != nil {
			return err
		}
		o := l.State
		if err := domain.Payable(o); err != nil {
			return problem(err)
		}
		who, err := payer(ctx)
		if err != nil {
			return problem(err)
		}
		ans, err := a.d.Bank.Pay(ctx, BankPayment{BankCode: who.BankCode, CardNo: who.CardNo, OrderID: o.ID,
			MerchantID: o.MerchantID, AmountFen: o.AmountFen})
		if err != nil {
			if rerr := a.d.Codes.Release(context.WithoutCancel(ctx), who); rerr != nil {
				a.d.Log.WithError(rerr).Warn("payments: give back a payment code")
			}
			return bankProblem(err)
		}
		cmd := domain.PayPaymentOrder{Method: method, Channel: who.Channel, CardholderID: who.CardholderID,
			BankCode: who.BankCode, Approved: ans.Status == BankApproved, BankTxnID: ans.Reference,
			DeclineReason: ans.Reason, At: a.now()}
		out, err := a.orders.Handle(ctx, o.ID, envelope(c), cmd)
		if err != nil {
			return problem(err)
		}
		return c.JSON(http.StatusOK, orderView(out.State))
	})
}

func (a *API) closeOrder(c echo.Context) error {
	var b closeRequest
	if err := httpapi.DecodeOptionalJSON(c, &b); err != nil {
		return err
	}
	if err := callerOf(c).needApp(); err != nil {
		return err
	}
	o, err := a.seenOrder(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	return a.locked(ctx, o.ID, func() error {
		out, err := a.orders.Handle(ctx, o.ID, envelope(c), domain.ClosePaymentOrder{By: callerOf(c).p.Client, Reason: b.Reason, At: a.now()})
		if err != nil {
			return problem(err)
		}
		return c.JSON(http.StatusOK, orderView(out.State))
	})
}

func (a *API) refund(c echo.Context) error {
	var b refundRequest
	if err := httpapi.DecodeJSON(c, &b); err != nil {
		return err
	}
	if err := callerOf(c).needApp(); err != nil {
		return err
	}
	o, err := a.seenOrder(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	return a.locked(ctx, o.ID, func() error {
		l, err := a.orders.Load(ctx, o.ID)
		if err != nil {
			return err
		}
		o := l.State
		done, err := domain.Refundable(o, b.RefundNo, int64(b.AmountFen))
		if err != nil {
			return problem(err)
		}
		if done {
			return c.JSON(http.StatusOK, orderView(o))
		}
		ans, err := a.d.Bank.Refund(ctx, BankRefund{BankCode: o.BankCode, OrderID: o.ID, RefundNo: b.RefundNo,
			BankTxnID: o.BankTxnID, AmountFen: int64(b.AmountFen)})
		if err != nil {
			return bankProblem(err)
		}
		if ans.Status != BankApproved {
			return httpapi.NewProblem(http.StatusConflict, CodeRefundDeclined, "the bank declined the refund: "+ans.Reason)
		}
		out, err := a.orders.Handle(ctx, o.ID, envelope(c), domain.RefundPaymentOrder{RefundNo: b.RefundNo,
			AmountFen: int64(b.AmountFen), BankRefundID: ans.Reference, Reason: b.Reason, At: a.now()})
		if err != nil {
			return problem(err)
		}
		return c.JSON(http.StatusOK, orderView(out.State))
	})
}

// CodeRefundDeclined: the bank refused a refund (409); nothing recorded.
const CodeRefundDeclined = "refund_declined"

// orderLockClass is the first key of every order lock
// (pg_try_advisory_lock(int, int)); the second is a hash of the order id.
const orderLockClass int32 = 0x5041594f // "PAYO"

// locked runs f holding the order's lock, across instances: one request
// at a time pays, closes or refunds an order, so two codes cannot both be
// debited for it and two refunds cannot both pass the amount left. A busy
// order is refused at once (order_busy) rather than queued.
func (a *API) locked(ctx context.Context, orderID string, f func() error) error {
	conn, err := a.d.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("payments: lock order %s: %w", orderID, err)
	}
	defer conn.Release()
	h := fnv.New32a()
	h.Write([]byte(orderID))
	key := int32(h.Sum32())
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1, $2)", orderLockClass, key).Scan(&got); err != nil {
		return fmt.Errorf("payments: lock order %s: %w", orderID, err)
	}
	if !got {
		return httpapi.NewProblem(http.StatusConflict, CodeOrderBusy, "another request is paying, closing or refunding this order; retry")
	}
	defer unlock(conn, key)
	return f()
}

func unlock(conn *pgxpool.Conn, key int32) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_advisory_unlock($1, $2)", orderLockClass, key).Scan(&ok); err != nil || !ok {
		// A connection whose lock state is unknown must not go back to the pool.
		_ = conn.Conn().Close(ctx)
	}
}
