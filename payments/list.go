package payments

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Page sizes of GET /v1/payment/merchants/{id}/orders.
const (
	DefaultOrderPage = 100
	MaxOrderPage     = 500
)

// orderStatuses are the values of the status filter.
var orderStatuses = []string{string(domain.OrderCreated), string(domain.OrderPaid), string(domain.OrderFailed),
	string(domain.OrderClosed), string(domain.OrderPartiallyRefunded), string(domain.OrderRefunded)}

type (
	// OrderSummary is one order of a merchant's list, as the payments read
	// model holds it (an order's refunds are on GET /v1/payment/orders/{id}).
	OrderSummary struct {
		ID              string             `json:"id"`
		MerchantOrderNo string             `json:"merchant_order_no"`
		AppID           string             `json:"app_id"`
		Status          domain.OrderStatus `json:"status"`
		AmountFen       int64              `json:"amount_fen"`
		Description     string             `json:"description"`
		CreatedAt       time.Time          `json:"created_at"`
		// CreatedDay is the Beijing-time (UTC+8) date of CreatedAt: what
		// the day filter matches.
		CreatedDay  string     `json:"created_day"`
		Method      string     `json:"method,omitempty"`
		Channel     string     `json:"channel,omitempty"`
		BankCode    string     `json:"bank_code,omitempty"`
		BankTxnID   string     `json:"bank_txn_id,omitempty"`
		PaidFen     int64      `json:"paid_fen"`
		PaidAt      *time.Time `json:"paid_at,omitempty"`
		RefundedFen int64      `json:"refunded_fen"`
		Reason      string     `json:"reason,omitempty"`
		Revision    int        `json:"revision"`
	}
	// OrderPage is a page of a merchant's orders, newest first.
	OrderPage struct {
		MerchantID string         `json:"merchant_id"`
		Orders     []OrderSummary `json:"orders"`
		// NextCursor fetches the next page; absent on the last one.
		NextCursor string `json:"next_cursor,omitempty"`
	}
)

// orderQuery is a parsed list query.
type orderQuery struct {
	status string
	day    string // YYYY-MM-DD or ""
	limit  int
	after  *orderKey
}

// orderKey is where a page ended: the list is ordered by created_at, then
// order id, both descending.
type orderKey struct {
	createdAt time.Time
	id        string
}

func (k orderKey) cursor() string {
	return base64.RawURLEncoding.EncodeToString([]byte(k.createdAt.UTC().Format(time.RFC3339Nano) + "|" + k.id))
}

func parseOrderQuery(c echo.Context) (orderQuery, error) {
	q := orderQuery{status: c.QueryParam("status"), day: c.QueryParam("day"), limit: DefaultOrderPage}
	var bad []httpapi.FieldError
	if q.status != "" && !slices.Contains(orderStatuses, q.status) {
		bad = append(bad, httpapi.FieldError{Field: "status", Code: httpapi.CodeInvalidQuery,
			Message: "one of " + strings.Join(orderStatuses, ", ")})
	}
	if q.day != "" {
		if _, err := time.Parse(time.DateOnly, q.day); err != nil {
			bad = append(bad, httpapi.FieldError{Field: "day", Code: httpapi.CodeInvalidQuery, Message: "a date YYYY-MM-DD (Beijing time)"})
		}
	}
	if s := c.QueryParam("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxOrderPage {
			bad = append(bad, httpapi.FieldError{Field: "limit", Code: httpapi.CodeInvalidQuery,
				Message: fmt.Sprintf("1 to %d", MaxOrderPage)})
		}
		q.limit = n
	}
	if s := c.QueryParam("cursor"); s != "" {
		k, ok := parseOrderCursor(s)
		if !ok {
			bad = append(bad, httpapi.FieldError{Field: "cursor", Code: httpapi.CodeInvalidQuery, Message: "not a next_cursor this API returned"})
		}
		q.after = &k
	}
	if len(bad) > 0 {
		return q, httpapi.BadRequest(httpapi.CodeInvalidQuery, "invalid order query", bad...)
	}
	return q, nil
}

func parseOrderCursor(s string) (orderKey, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return orderKey{}, false
	}
	at, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" {
		return orderKey{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, at)
	if err != nil {
		return orderKey{}, false
	}
	return orderKey{createdAt: t, id: id}, true
}

// listOrders is GET /v1/payment/merchants/{id}/orders: the merchant's
// orders from the payments read model, newest first, filtered by status
// and by the Beijing day they were created, a page at a time.
func (a *API) listOrders(c echo.Context) error {
	q, err := parseOrderQuery(c)
	if err != nil {
		return err
	}
	m, err := a.seenMerchant(c)
	if err != nil {
		return err
	}
	sql := `SELECT order_id, merchant_order_no, app_id, status, amount_fen, description, created_at, created_day,
		method, channel, bank_code, bank_txn_id, paid_fen, paid_at, refunded_fen, reason, revision
		FROM ` + ReadModelSchema + `.orders WHERE merchant_id = $1`
	args := []any{m.ID}
	if q.status != "" {
		args = append(args, q.status)
		sql += fmt.Sprintf(" AND status = $%d", len(args))
	}
	if q.day != "" {
		args = append(args, q.day)
		sql += fmt.Sprintf(" AND created_day = $%d::date", len(args))
	}
	if q.after != nil {
		args = append(args, q.after.createdAt, q.after.id)
		sql += fmt.Sprintf(" AND (created_at, order_id) < ($%d, $%d)", len(args)-1, len(args))
	}
	args = append(args, q.limit)
	sql += fmt.Sprintf(" ORDER BY created_at DESC, order_id DESC LIMIT $%d", len(args))
	rows, err := a.d.Pool.Query(c.Request().Context(), sql, args...)
	if err != nil {
		return fmt.Errorf("orders of merchant %s: %w", m.ID, err)
	}
	orders, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (OrderSummary, error) {
		var o OrderSummary
		var day time.Time
		err := r.Scan(&o.ID, &o.MerchantOrderNo, &o.AppID, &o.Status, &o.AmountFen, &o.Description, &o.CreatedAt, &day,
			&o.Method, &o.Channel, &o.BankCode, &o.BankTxnID, &o.PaidFen, &o.PaidAt, &o.RefundedFen, &o.Reason, &o.Revision)
		o.CreatedAt, o.CreatedDay = o.CreatedAt.UTC(), day.Format(time.DateOnly)
		if o.PaidAt != nil {
			t := o.PaidAt.UTC()
			o.PaidAt = &t
		}
		return o, err
	})
	if err != nil {
		return fmt.Errorf("orders of merchant %s: %w", m.ID, err)
	}
	out := OrderPage{MerchantID: m.ID, Orders: orders}
	if out.Orders == nil {
		out.Orders = []OrderSummary{}
	}
	if n := len(orders); n == q.limit {
		out.NextCursor = orderKey{createdAt: orders[n-1].CreatedAt, id: orders[n-1].ID}.cursor()
	}
	return c.JSON(http.StatusOK, out)
}
