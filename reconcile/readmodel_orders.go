package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/payments"
)

// PaymentsOrders is the Orders port over the payments: a merchant is read
// from its stream, as the payments API reads it (found, with its account
// and apps, as soon as it is registered or bound); transactions from the
// payments read model (payments.ReadModel): a payment is an order's debit
// on the Beijing day it was paid (paid_day), a refund its credit on the day
// it was made (refund_day). The read model is a projection, so a
// transaction recorded a moment ago may be missing until it catches up; a
// day is reconciled after it has ended.
type PaymentsOrders struct {
	merchants *commands.Pipeline[*domain.Merchant, domain.MerchantCommand]
	db        *pgxpool.Pool
	schema    string
}

// NewPaymentsOrders reads merchants from store and transactions from the
// live payments read model of db.
func NewPaymentsOrders(store eventstore.Store, db *pgxpool.Pool) (*PaymentsOrders, error) {
	merchants, err := commands.NewPipeline(domain.Merchants, store, time.Now)
	if err != nil {
		return nil, err
	}
	return &PaymentsOrders{merchants: merchants, db: db, schema: payments.ReadModelSchema}, nil
}

// Merchant implements Orders.
func (o *PaymentsOrders) Merchant(ctx context.Context, id string) (Merchant, error) {
	if _, err := uuid.Parse(id); err != nil { // merchant ids are UUIDs: no stream to read
		return Merchant{}, ErrNoMerchant
	}
	l, err := o.merchants.Load(ctx, id)
	if err != nil {
		return Merchant{}, fmt.Errorf("read merchant %s: %w", id, err)
	}
	if l.State.Status == domain.MerchantStatusNone {
		return Merchant{}, ErrNoMerchant
	}
	return Merchant{ID: id, AccountID: l.State.AccountID, AppIDs: l.State.Apps}, nil
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
