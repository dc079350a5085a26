package reconcile

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/payments"
)

// PaymentsOrders is the Orders port over the payments read model
// (payments.ReadModel): a payment is an order's debit on the Beijing day it
// was paid (paid_day), a refund its credit on the day it was made
// (refund_day). The read model is a projection, so a transaction recorded
// a moment ago may be missing until it catches up; a day is reconciled
// after it has ended.
type PaymentsOrders struct {
	db     *pgxpool.Pool
	schema string
}

// NewPaymentsOrders reads the live payments read model of db.
func NewPaymentsOrders(db *pgxpool.Pool) *PaymentsOrders {
	return &PaymentsOrders{db: db, schema: payments.ReadModelSchema}
}

// Merchant implements Orders.
func (o *PaymentsOrders) Merchant(ctx context.Context, id string) (Merchant, error) {
	m := Merchant{ID: id}
	err := o.db.QueryRow(ctx, `SELECT account_id, apps FROM `+o.schema+`.merchants WHERE merchant_id = $1`, id).
		Scan(&m.AccountID, &m.AppIDs)
	if errors.Is(err, pgx.ErrNoRows) {
		return Merchant{}, ErrNoMerchant
	}
	if err != nil {
		return Merchant{}, fmt.Errorf("read merchant %s: %w", id, err)
	}
	return m, nil
}

// Transactions implements Orders.
func (o *PaymentsOrders) Transactions(ctx context.Context, merchant string, day Day) ([]Txn, error) {
	rows, err := o.db.Query(ctx, `
		SELECT bank_code, bank_txn_id, 'payment', order_id, merchant_order_no, '', paid_fen, paid_at
		FROM `+o.schema+`.orders WHERE merchant_id = $1 AND paid_day = $2::date
		UNION ALL
		SELECT bank_code, bank_refund_id, 'refund', order_id, merchant_order_no, refund_no, amount_fen, refunded_at
		FROM `+o.schema+`.refunds WHERE merchant_id = $1 AND refund_day = $2::date`, merchant, day.String())
	if err != nil {
		return nil, fmt.Errorf("transactions of %s on %s: %w", merchant, day, err)
	}
	txns, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Txn, error) {
		var x Txn
		err := r.Scan(&x.BankCode, &x.BankTxnID, &x.Type, &x.OrderID, &x.MerchantOrderNo, &x.RefundNo, &x.AmountFen, &x.At)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("transactions of %s on %s: %w", merchant, day, err)
	}
	return txns, nil
}
