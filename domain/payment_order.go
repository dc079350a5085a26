package domain

import (
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// Payment orders (订单管理): a merchant, through an app bound to it, creates
// an order; the holder pays it with the e-card (a payment code the merchant
// scans, or confirmation online in the channel app); the bank of the
// holder's card debits it through the bank port; the merchant may refund
// it, in full or in parts. Each order is its own stream
// ("payment-order-<id>") whose id derives from the merchant and its order
// number (PaymentOrderIDFor), so creating the same order twice addresses
// the same stream. Rules kept here:
//
//	           create      pay         fail        close       refund
//	none       created     ONF         ONF         ONF         ONF
//	created    = / ONR     paid        failed      closed      ONP
//	paid       = / ONR     OAP         OAP         OAP         refunded | partially_refunded
//	part_ref.  = / ONR     OAP         OAP         OAP         refunded | partially_refunded
//	refunded   = / ONR     OAP         OAP         OAP         REP
//	failed     = / ONR     OF          OF          OF          ONP
//	closed     = / ONR     OC          OC          OC          ONP
//
//	=    the same order again (amount, description, notification URL): nothing appended
//	ONR  order_number_reused (the same number with anything else different)
//	ONF  order_not_found   OAP order_already_paid   ONP order_not_paid
//	OF   order_failed      OC  order_closed         REP refund_exceeds_paid
//
//   - Amounts are whole fen, 1 to MaxOrderAmountFen (order_amount_invalid).
//   - Refunds sum to at most the amount paid (refund_exceeds_paid); each
//     has the merchant's own refund number, so a refund sent twice is
//     refunded once (the same number and amount: nothing appended; another
//     amount: refund_number_reused).
//   - Every order event carries the merchant, its order number and the
//     amounts, so notifications and reconciliation need no other read.

// PaymentOrderStreamPrefix starts every order stream name.
const PaymentOrderStreamPrefix = "payment-order-"

// PaymentOrderStreamFor is the stream of order id.
func PaymentOrderStreamFor(id string) string { return PaymentOrderStreamPrefix + id }

// paymentOrderNamespace makes (merchant, order number) into order ids; never change it.
var paymentOrderNamespace = uuid.MustParse("3c0f5a8e-8d1b-4f43-9e0e-7a52c1d4b6f2")

// PaymentOrderIDFor is the order id of the merchant's order number.
func PaymentOrderIDFor(merchantID, merchantOrderNo string) string {
	return uuid.NewSHA1(paymentOrderNamespace, []byte(merchantID+"\x00"+merchantOrderNo)).String()
}

// Order limits.
const (
	// MaxOrderAmountFen is the largest order: 50,000 yuan.
	MaxOrderAmountFen = 5_000_000
	MaxOrderNoLen     = 32
	MaxOrderDescLen   = 128 // characters
	MaxNotifyURLLen   = 512
)

// OrderStatus is where an order stands.
type OrderStatus string

const (
	OrderNone              OrderStatus = ""
	OrderCreated           OrderStatus = "created"
	OrderPaid              OrderStatus = "paid"
	OrderFailed            OrderStatus = "failed"
	OrderClosed            OrderStatus = "closed"
	OrderPartiallyRefunded OrderStatus = "partially_refunded"
	OrderRefunded          OrderStatus = "refunded"
)

// How an order was paid.
const (
	PayByCode   = "payment_code" // the holder's code, scanned by the merchant
	PayByOnline = "online"       // confirmed by the holder in the channel app
)

// Codes of refused order commands.
const (
	CodeOrderAmountInvalid = "order_amount_invalid" // KindInvalid (field amount_fen)
	CodeOrderNumberReused  = "order_number_reused"  // KindConflict
	CodeOrderNotFound      = "order_not_found"      // KindNotFound
	CodeOrderAlreadyPaid   = "order_already_paid"   // KindConflict
	CodeOrderNotPaid       = "order_not_paid"       // KindConflict
	CodeOrderFailed        = "order_failed"         // KindConflict
	CodeOrderClosed        = "order_closed"         // KindConflict
	CodeRefundExceedsPaid  = "refund_exceeds_paid"  // KindConflict
	CodeRefundNumberReused = "refund_number_reused" // KindConflict
	// Field codes.
	CodeInvalidOrderNo   = "invalid_order_no"
	CodeInvalidNotifyURL = "invalid_notify_url"
)

// Order events. MerchantOrderNo and the amounts are in every one of them.
type (
	PaymentOrderCreated struct {
		OrderID         string    `json:"order_id"`
		MerchantID      string    `json:"merchant_id"`
		MerchantOrderNo string    `json:"merchant_order_no"`
		AppID           string    `json:"app_id"`
		AmountFen       int64     `json:"amount_fen"`
		Description     string    `json:"description"`
		NotifyURL       string    `json:"notify_url"`
		At              time.Time `json:"at"`
	}
	// PaymentOrderPaid: the holder's bank debited the amount.
	PaymentOrderPaid struct {
		OrderID         string    `json:"order_id"`
		MerchantID      string    `json:"merchant_id"`
		MerchantOrderNo string    `json:"merchant_order_no"`
		AmountFen       int64     `json:"amount_fen"`
		Method          string    `json:"method"`  // PayByCode or PayByOnline
		Channel         string    `json:"channel"` // the e-card channel the holder used
		CardholderID    string    `json:"cardholder_id"`
		BankCode        string    `json:"bank_code"`   // the bank of the holder's card
		BankTxnID       string    `json:"bank_txn_id"` // the bank's reference of the debit
		At              time.Time `json:"at"`
	}
	// PaymentOrderFailed: the bank declined; the order is over.
	PaymentOrderFailed struct {
		OrderID         string    `json:"order_id"`
		MerchantID      string    `json:"merchant_id"`
		MerchantOrderNo string    `json:"merchant_order_no"`
		AmountFen       int64     `json:"amount_fen"`
		CardholderID    string    `json:"cardholder_id,omitempty"`
		BankCode        string    `json:"bank_code,omitempty"`
		Reason          string    `json:"reason"`
		At              time.Time `json:"at"`
	}
	PaymentOrderClosed struct {
		OrderID         string    `json:"order_id"`
		MerchantID      string    `json:"merchant_id"`
		MerchantOrderNo string    `json:"merchant_order_no"`
		AmountFen       int64     `json:"amount_fen"`
		By              string    `json:"by"`
		Reason          string    `json:"reason,omitempty"`
		At              time.Time `json:"at"`
	}
	// PaymentOrderRefunded: the bank credited AmountFen back;
	// RefundedFen is the order's total refunded after it.
	PaymentOrderRefunded struct {
		OrderID         string    `json:"order_id"`
		MerchantID      string    `json:"merchant_id"`
		MerchantOrderNo string    `json:"merchant_order_no"`
		RefundNo        string    `json:"refund_no"`
		AmountFen       int64     `json:"amount_fen"`
		RefundedFen     int64     `json:"refunded_fen"`
		PaidFen         int64     `json:"paid_fen"`
		BankCode        string    `json:"bank_code"`
		BankRefundID    string    `json:"bank_refund_id"`
		Reason          string    `json:"reason,omitempty"`
		At              time.Time `json:"at"`
	}
)

// Order event types as stored.
const (
	TypePaymentOrderCreated  = "PaymentOrderCreated"
	TypePaymentOrderPaid     = "PaymentOrderPaid"
	TypePaymentOrderFailed   = "PaymentOrderFailed"
	TypePaymentOrderClosed   = "PaymentOrderClosed"
	TypePaymentOrderRefunded = "PaymentOrderRefunded"
)

// PaymentOrderEventTypes lists the order event types (what a merchant is notified of).
func PaymentOrderEventTypes() []string {
	return []string{TypePaymentOrderCreated, TypePaymentOrderPaid, TypePaymentOrderFailed,
		TypePaymentOrderClosed, TypePaymentOrderRefunded}
}

// OrderRefund is one refund of an order.
type OrderRefund struct {
	RefundNo     string
	AmountFen    int64
	BankRefundID string
	At           time.Time
}

// PaymentOrder is the state of one order stream.
type PaymentOrder struct {
	ID              string
	Status          OrderStatus
	MerchantID      string
	MerchantOrderNo string
	AppID           string
	AmountFen       int64
	Description     string
	NotifyURL       string
	CreatedAt       time.Time
	Method          string
	Channel         string
	CardholderID    string
	BankCode        string
	BankTxnID       string
	PaidAt          time.Time
	PaidFen         int64
	RefundedFen     int64
	Refunds         []OrderRefund
	Reason          string // failure or closing reason
	EndedAt         time.Time
	Version         int
}

// Refund returns the order's refund of that number.
func (o *PaymentOrder) Refund(no string) (OrderRefund, bool) {
	for _, r := range o.Refunds {
		if r.RefundNo == no {
			return r, true
		}
	}
	return OrderRefund{}, false
}

// Apply folds one order event into the state.
func (o *PaymentOrder) Apply(e Event) {
	switch e := e.(type) {
	case PaymentOrderCreated:
		o.ID, o.Status, o.MerchantID, o.MerchantOrderNo, o.AppID = e.OrderID, OrderCreated, e.MerchantID, e.MerchantOrderNo, e.AppID
		o.AmountFen, o.Description, o.NotifyURL, o.CreatedAt = e.AmountFen, e.Description, e.NotifyURL, e.At
	case PaymentOrderPaid:
		o.Status, o.Method, o.Channel, o.CardholderID = OrderPaid, e.Method, e.Channel, e.CardholderID
		o.BankCode, o.BankTxnID, o.PaidAt, o.PaidFen = e.BankCode, e.BankTxnID, e.At, e.AmountFen
	case PaymentOrderFailed:
		o.Status, o.CardholderID, o.BankCode, o.Reason, o.EndedAt = OrderFailed, e.CardholderID, e.BankCode, e.Reason, e.At
	case PaymentOrderClosed:
		o.Status, o.Reason, o.EndedAt = OrderClosed, e.Reason, e.At
	case PaymentOrderRefunded:
		o.Refunds = append(o.Refunds, OrderRefund{RefundNo: e.RefundNo, AmountFen: e.AmountFen, BankRefundID: e.BankRefundID, At: e.At})
		o.RefundedFen = e.RefundedFen
		o.Status = OrderPartiallyRefunded
		if o.RefundedFen == o.PaidFen {
			o.Status = OrderRefunded
		}
	}
	o.Version++
}

// PaymentOrderCommand is a command of the order aggregate.
type PaymentOrderCommand interface {
	Command
	paymentOrderCommand()
}

// Order commands. The application layer checks the merchant takes orders
// through the app (Merchant.Takes) before CreatePaymentOrder, and asks the
// bank only when Payable / Refundable say the order may go on.
type (
	CreatePaymentOrder PaymentOrderCreated
	// PayPaymentOrder records the bank's answer: Approved with its
	// BankTxnID, or declined with DeclineReason.
	PayPaymentOrder struct {
		Method        string
		Channel       string
		CardholderID  string
		BankCode      string
		Approved      bool
		BankTxnID     string
		DeclineReason string
		At            time.Time
	}
	ClosePaymentOrder struct {
		By     string
		Reason string
		At     time.Time
	}
	RefundPaymentOrder struct {
		RefundNo     string
		AmountFen    int64
		BankRefundID string
		Reason       string
		At           time.Time
	}
)

// Payable is nil when the order may be paid (created), else why not.
func Payable(o *PaymentOrder) error {
	switch o.Status {
	case OrderNone:
		return NotFound(CodeOrderNotFound, "no such order")
	case OrderCreated:
		return nil
	case OrderFailed:
		return Conflict(CodeOrderFailed, "the order failed: %s", o.Reason)
	case OrderClosed:
		return Conflict(CodeOrderClosed, "the order is closed")
	}
	return Conflict(CodeOrderAlreadyPaid, "the order was paid at %s", o.PaidAt.Format(time.RFC3339))
}

// Refundable is nil when a refund numbered no of amount may go to the
// bank; (nil, true) means that refund is recorded already (nothing to do).
func Refundable(o *PaymentOrder, no string, amount int64) (done bool, err error) {
	if f := checkRefund(no, amount); len(f) > 0 {
		return false, invalidAmount(f)
	}
	switch o.Status {
	case OrderNone:
		return false, NotFound(CodeOrderNotFound, "no such order")
	case OrderPaid, OrderPartiallyRefunded, OrderRefunded:
	default:
		return false, Conflict(CodeOrderNotPaid, "the order is %s, not paid", o.Status)
	}
	if r, ok := o.Refund(no); ok {
		if r.AmountFen == amount {
			return true, nil
		}
		return false, Conflict(CodeRefundNumberReused, "refund %s was of %d fen", no, r.AmountFen)
	}
	if amount > o.PaidFen-o.RefundedFen {
		return false, Conflict(CodeRefundExceedsPaid, "%d fen asked, %d fen left to refund of %d paid",
			amount, o.PaidFen-o.RefundedFen, o.PaidFen)
	}
	return false, nil
}

// DecidePaymentOrder turns an order command into events or a *Error.
func DecidePaymentOrder(o *PaymentOrder, cmd PaymentOrderCommand) ([]Event, error) {
	switch c := cmd.(type) {
	case CreatePaymentOrder:
		if f := checkOrder(c); len(f) > 0 {
			if f[0].Code == CodeOrderAmountInvalid {
				return nil, invalidAmount(f)
			}
			return nil, Invalid(f...)
		}
		if o.Status != OrderNone {
			if o.AmountFen == c.AmountFen && o.Description == c.Description && o.NotifyURL == c.NotifyURL {
				return nil, nil
			}
			return nil, Conflict(CodeOrderNumberReused, "order %s was created with other terms (%d fen)", c.MerchantOrderNo, o.AmountFen)
		}
		return []Event{PaymentOrderCreated(c)}, nil
	case PayPaymentOrder:
		if err := Payable(o); err != nil {
			return nil, err
		}
		if !c.Approved {
			return []Event{PaymentOrderFailed{OrderID: o.ID, MerchantID: o.MerchantID, MerchantOrderNo: o.MerchantOrderNo,
				AmountFen: o.AmountFen, CardholderID: c.CardholderID, BankCode: c.BankCode, Reason: c.DeclineReason, At: c.At}}, nil
		}
		var f []FieldError
		if c.Method != PayByCode && c.Method != PayByOnline {
			f = append(f, FieldError{Field: "method", Code: CodeInvalidValue, Message: "payment_code or online"})
		}
		for _, r := range []struct{ field, v string }{{"cardholder_id", c.CardholderID}, {"bank_code", c.BankCode},
			{"bank_txn_id", c.BankTxnID}, {"channel", c.Channel}} {
			if r.v == "" {
				f = append(f, FieldError{Field: r.field, Code: CodeRequired, Message: "required"})
			}
		}
		if len(f) > 0 {
			return nil, Invalid(f...)
		}
		return []Event{PaymentOrderPaid{OrderID: o.ID, MerchantID: o.MerchantID, MerchantOrderNo: o.MerchantOrderNo,
			AmountFen: o.AmountFen, Method: c.Method, Channel: c.Channel, CardholderID: c.CardholderID,
			BankCode: c.BankCode, BankTxnID: c.BankTxnID, At: c.At}}, nil
	case ClosePaymentOrder:
		if err := Payable(o); err != nil {
			return nil, err
		}
		return []Event{PaymentOrderClosed{OrderID: o.ID, MerchantID: o.MerchantID, MerchantOrderNo: o.MerchantOrderNo,
			AmountFen: o.AmountFen, By: c.By, Reason: c.Reason, At: c.At}}, nil
	case RefundPaymentOrder:
		done, err := Refundable(o, c.RefundNo, c.AmountFen)
		if err != nil || done {
			return nil, err
		}
		if c.BankRefundID == "" {
			return nil, Invalid(FieldError{Field: "bank_refund_id", Code: CodeRequired, Message: "required"})
		}
		return []Event{PaymentOrderRefunded{OrderID: o.ID, MerchantID: o.MerchantID, MerchantOrderNo: o.MerchantOrderNo,
			RefundNo: c.RefundNo, AmountFen: c.AmountFen, RefundedFen: o.RefundedFen + c.AmountFen, PaidFen: o.PaidFen,
			BankCode: o.BankCode, BankRefundID: c.BankRefundID, Reason: c.Reason, At: c.At}}, nil
	}
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: fmt.Sprintf("unknown order command %T", cmd)}
}

// invalidAmount is the refusal of a bad amount: its own code, so that a
// client branches on it without reading the fields.
func invalidAmount(f []FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: CodeOrderAmountInvalid, Message: f[0].Message, Fields: f}
}

// checkAmount: whole fen from 1 to MaxOrderAmountFen (fractions are
// refused where the JSON is read).
func checkAmount(f []FieldError, amount int64) []FieldError {
	if amount < 1 || amount > MaxOrderAmountFen {
		return append(f, FieldError{Field: "amount_fen", Code: CodeOrderAmountInvalid,
			Message: fmt.Sprintf("whole fen from 1 to %d", MaxOrderAmountFen)})
	}
	return f
}

// checkOrder lists what is wrong with an order, the amount first.
func checkOrder(c CreatePaymentOrder) []FieldError {
	f := checkAmount(nil, c.AmountFen)
	if !orderNo(c.MerchantOrderNo) {
		f = append(f, FieldError{Field: "merchant_order_no", Code: CodeInvalidOrderNo,
			Message: fmt.Sprintf("1 to %d letters, digits, '-' or '_'", MaxOrderNoLen)})
	}
	f = accountText(f, "description", c.Description, MaxOrderDescLen)
	if u, err := url.Parse(c.NotifyURL); err != nil || len(c.NotifyURL) > MaxNotifyURLLen || (u.Scheme != "http" && u.Scheme != "https") ||
		u.Host == "" || u.User != nil {
		f = append(f, FieldError{Field: "notify_url", Code: CodeInvalidNotifyURL,
			Message: fmt.Sprintf("an absolute http or https URL without credentials, at most %d bytes", MaxNotifyURLLen)})
	}
	return f
}

func checkRefund(no string, amount int64) []FieldError {
	f := checkAmount(nil, amount)
	if !orderNo(no) {
		f = append(f, FieldError{Field: "refund_no", Code: CodeInvalidOrderNo,
			Message: fmt.Sprintf("1 to %d letters, digits, '-' or '_'", MaxOrderNoLen)})
	}
	return f
}

func orderNo(s string) bool {
	if len(s) < 1 || len(s) > MaxOrderNoLen {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func (PaymentOrderCreated) EventType() string  { return TypePaymentOrderCreated }
func (PaymentOrderPaid) EventType() string     { return TypePaymentOrderPaid }
func (PaymentOrderFailed) EventType() string   { return TypePaymentOrderFailed }
func (PaymentOrderClosed) EventType() string   { return TypePaymentOrderClosed }
func (PaymentOrderRefunded) EventType() string { return TypePaymentOrderRefunded }

func (CreatePaymentOrder) paymentOrderCommand() {}
func (PayPaymentOrder) paymentOrderCommand()    {}
func (ClosePaymentOrder) paymentOrderCommand()  {}
func (RefundPaymentOrder) paymentOrderCommand() {}

func (CreatePaymentOrder) CommandName() string { return "create_payment_order" }
func (PayPaymentOrder) CommandName() string    { return "pay_payment_order" }
func (ClosePaymentOrder) CommandName() string  { return "close_payment_order" }
func (RefundPaymentOrder) CommandName() string { return "refund_payment_order" }

// paymentOrderCodec declares the order family; every type is at version 1.
var paymentOrderCodec = newCodec("payment order event",
	schema[PaymentOrderCreated](),
	schema[PaymentOrderPaid](),
	schema[PaymentOrderFailed](),
	schema[PaymentOrderClosed](),
	schema[PaymentOrderRefunded](),
)

// PaymentOrders is the payment order aggregate.
var PaymentOrders = Aggregate[*PaymentOrder, PaymentOrderCommand]{
	Name:         "payment order",
	Stream:       PaymentOrderStreamFor,
	New:          func(string) *PaymentOrder { return &PaymentOrder{} },
	Apply:        func(o *PaymentOrder, e Event) error { o.Apply(e); return nil },
	Decide:       DecidePaymentOrder,
	Encode:       paymentOrderCodec.encode,
	DecodeStored: paymentOrderCodec.decodeStored,
}

// DecodeStoredPaymentEvent reads a merchant or order event back (for
// projections of both families).
func DecodeStoredPaymentEvent(eventType string, data, metadata []byte) (Event, error) {
	if _, ok := merchantCodec.types[eventType]; ok {
		return merchantCodec.decodeStored(eventType, data, metadata)
	}
	return paymentOrderCodec.decodeStored(eventType, data, metadata)
}
