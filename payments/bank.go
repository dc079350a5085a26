package payments

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// The bank port (网银适配): how an order's amount is debited from, and
// refunded to, the account of the holder's social-security card at its
// bank. It is an HTTP interface (docs/platform.md, "Bank port") so that a
// bank's adapter, or the simulator (banksim, `cardledger simulate
// payment-bank`), can stand behind it; CARDLEDGER_PAYMENT_BANK_URL says
// where it is, and the built-in simulator answers when it is unset.
//
// Both calls are idempotent at the bank: a payment is keyed by the order
// id, a refund by the order id and the merchant's refund number, so a
// call repeated after a crash or a timeout debits or credits once.

// Bank answers a payment or a refund.
type Bank interface {
	Pay(ctx context.Context, r BankPayment) (BankAnswer, error)
	Refund(ctx context.Context, r BankRefund) (BankAnswer, error)
}

// BankPayment asks the holder's bank to debit an order's amount.
type BankPayment struct {
	BankCode   string `json:"bank_code"`
	CardNo     string `json:"card_no"`
	OrderID    string `json:"order_id"`
	MerchantID string `json:"merchant_id"`
	AmountFen  int64  `json:"amount_fen"`
}

// BankRefund asks the bank to credit back part or all of a payment.
type BankRefund struct {
	BankCode  string `json:"bank_code"`
	OrderID   string `json:"order_id"`
	RefundNo  string `json:"refund_no"`
	BankTxnID string `json:"bank_txn_id"` // the payment's reference
	AmountFen int64  `json:"amount_fen"`
}

// Answers of the bank.
const (
	BankApproved = "approved"
	BankDeclined = "declined"
)

// BankAnswer is the bank's decision: approved with its reference, or
// declined with a reason.
type BankAnswer struct {
	Status    string `json:"status"`
	Reference string `json:"reference,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// ErrBankUnavailable: the bank did not decide (no answer, a 5xx, an answer
// that is neither approved nor declined). Nothing is recorded; the caller
// may retry, and the bank's idempotency makes that safe.
var ErrBankUnavailable = errors.New("payments: the bank did not answer")

// HTTPBank is the bank port over HTTP.
type HTTPBank struct {
	base   string
	client *http.Client
}

// DefaultBankTimeout bounds one call to the bank.
const DefaultBankTimeout = 10 * time.Second

// NewHTTPBank calls the bank port at base (…/payments, …/refunds); client
// nil is a client with DefaultBankTimeout.
func NewHTTPBank(base string, client *http.Client) *HTTPBank {
	if client == nil {
		client = &http.Client{Timeout: DefaultBankTimeout}
	}
	return &HTTPBank{base: strings.TrimRight(base, "/"), client: client}
}

// Pay implements Bank.
func (b *HTTPBank) Pay(ctx context.Context, r BankPayment) (BankAnswer, error) {
	return b.call(ctx, "/payments", r)
}

// Refund implements Bank.
func (b *HTTPBank) Refund(ctx context.Context, r BankRefund) (BankAnswer, error) {
	return b.call(ctx, "/refunds", r)
}

func (b *HTTPBank) call(ctx context.Context, path string, body any) (BankAnswer, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return BankAnswer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+path, bytes.NewReader(data))
	if err != nil {
		return BankAnswer{}, fmt.Errorf("%w: %w", ErrBankUnavailable, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.client.Do(req)
	if err != nil {
		return BankAnswer{}, fmt.Errorf("%w: %w", ErrBankUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return BankAnswer{}, fmt.Errorf("%w: %w", ErrBankUnavailable, err)
	}
	var a BankAnswer
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &a) != nil || (a.Status != BankApproved && a.Status != BankDeclined) ||
		(a.Status == BankApproved && a.Reference == "") {
		return BankAnswer{}, fmt.Errorf("%w: POST %s answered %d %.200s", ErrBankUnavailable, path, resp.StatusCode, raw)
	}
	return a, nil
}

// handlerTransport serves requests with an in-process handler: the
// built-in simulator behind the same HTTP interface, without a socket.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := newRecorder()
	t.h.ServeHTTP(rec, req)
	return rec.result(req), nil
}

// NewInProcessBank is the bank port served by h in this process.
func NewInProcessBank(h http.Handler) *HTTPBank {
	return NewHTTPBank("http://bank-simulator", &http.Client{Transport: handlerTransport{h}, Timeout: DefaultBankTimeout})
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newRecorder() *recorder { return &recorder{header: http.Header{}, status: http.StatusOK} }

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }

func (r *recorder) result(req *http.Request) *http.Response {
	return &http.Response{StatusCode: r.status, Status: http.StatusText(r.status), Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body.Bytes())), ContentLength: int64(r.body.Len()), Request: req,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
}
