package payments_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/payments"
)

// TestReadModelFoldsMerchantsOrdersRefunds: the rows, amounts in fen and
// Beijing days of a merchant, a paid and partly refunded order, and a
// closed one; applying the same events again changes nothing.
func TestReadModelFoldsMerchantsOrdersRefunds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	url := testpg.NewDatabase(t)
	store := pgstoretest.OpenURL(t, url)
	pool, err := pgxpool.New(ctx, url+"&pool_max_conns=2")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	rm := payments.NewReadModel(pool)
	require.NoError(t, rm.Migrate(ctx))

	at := time.Date(2026, 12, 5, 16, 30, 0, 0, time.UTC) // 00:30 on the 6th in Beijing
	env := commands.NewEnvelope(domain.Actor{Client: "test"}, "test")
	merchants, err := commands.NewPipeline(domain.Merchants, store, time.Now)
	require.NoError(t, err)
	orders, err := commands.NewPipeline(domain.PaymentOrders, store, time.Now)
	require.NoError(t, err)
	handle := func(err error) {
		t.Helper()
		require.NoError(t, err)
		env = commands.NewEnvelope(domain.Actor{Client: "test"}, "test")
	}
	_, err = merchants.Handle(ctx, "m-1", env, domain.RegisterMerchant{MerchantID: "m-1", AccountID: "acc-1", AppID: "app-1",
		Name: "药房", CreditCode: "91350100M000100Y43", MCC: "5912",
		Settlement: domain.SettlementAccount{BankCode: "102", AccountNo: "6222020000000001", Name: "药房"}, By: "x", At: at})
	handle(err)
	_, err = merchants.Handle(ctx, "m-1", env, domain.ApproveMerchant{By: "admin", At: at})
	handle(err)
	id := domain.PaymentOrderIDFor("m-1", "A1")
	_, err = orders.Handle(ctx, id, env, domain.CreatePaymentOrder{OrderID: id, MerchantID: "m-1", MerchantOrderNo: "A1",
		AppID: "app-1", AmountFen: 1000, Description: "d", NotifyURL: "http://shop/n", At: at})
	handle(err)
	_, err = orders.Handle(ctx, id, env, domain.PayPaymentOrder{Method: domain.PayByCode, Channel: "icbc", CardholderID: "h",
		BankCode: "102", Approved: true, BankTxnID: "T1", At: at})
	handle(err)
	_, err = orders.Handle(ctx, id, env, domain.RefundPaymentOrder{RefundNo: "R1", AmountFen: 300, BankRefundID: "BR1", At: at.Add(24 * time.Hour)})
	handle(err)
	closed := domain.PaymentOrderIDFor("m-1", "A2")
	_, err = orders.Handle(ctx, closed, env, domain.CreatePaymentOrder{OrderID: closed, MerchantID: "m-1", MerchantOrderNo: "A2",
		AppID: "app-1", AmountFen: 1, Description: "d", NotifyURL: "http://shop/n", At: at})
	handle(err)
	_, err = orders.Handle(ctx, closed, env, domain.ClosePaymentOrder{By: "x", At: at})
	handle(err)

	all, err := store.ReadAll(ctx, eventstore.Start, 100)
	require.NoError(t, err)
	require.NoError(t, rm.Apply(ctx, all))
	require.NoError(t, rm.Apply(ctx, all))

	var status, apps string
	require.NoError(t, pool.QueryRow(ctx, `SELECT status, array_to_string(apps, ',') FROM payments.merchants WHERE merchant_id = 'm-1'`).Scan(&status, &apps))
	require.Equal(t, "approved/app-1", status+"/"+apps)
	var paid, refunded, amount int64
	var paidDay, createdDay string
	require.NoError(t, pool.QueryRow(ctx, `SELECT status, amount_fen, paid_fen, refunded_fen, paid_day::text, created_day::text
		FROM payments.orders WHERE merchant_id = 'm-1' AND merchant_order_no = 'A1'`).Scan(&status, &amount, &paid, &refunded, &paidDay, &createdDay))
	require.Equal(t, []any{"partially_refunded", int64(1000), int64(1000), int64(300), "2026-12-06", "2026-12-06"},
		[]any{status, amount, paid, refunded, paidDay, createdDay})
	var refundDay string
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), max(refund_day)::text FROM payments.refunds WHERE order_id = $1`, id).Scan(&n, &refundDay))
	require.Equal(t, []any{1, "2026-12-07"}, []any{n, refundDay})
	require.NoError(t, pool.QueryRow(ctx, `SELECT status FROM payments.orders WHERE order_id = $1`, closed).Scan(&status))
	require.Equal(t, "closed", status)
}
