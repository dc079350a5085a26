package reconcile_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/payments"
	"github.com/cardledger/cardledger/reconcile"
)

// dayOf100k is a merchant day of n payments and the bank's file of it,
// with one line in a hundred differing in amount.
func dayOf100k(n int) ([]reconcile.Txn, []reconcile.SettlementLine) {
	ours := make([]reconcile.Txn, n)
	bank := make([]reconcile.SettlementLine, n)
	for i := range n {
		ref := fmt.Sprintf("ICBC2026120500%06d", i)
		ours[i] = reconcile.Txn{BankCode: "102", BankTxnID: ref, Type: reconcile.TxnPayment, OrderID: fmt.Sprintf("o-%06d", i),
			MerchantOrderNo: fmt.Sprintf("N%06d", i), AmountFen: int64(100 + i%5000), At: at(8, 0).Add(time.Duration(i) * 100 * time.Millisecond)}
		bank[i] = reconcile.SettlementLine{Line: i + 2, BankCode: "102", BankTxnID: ref, Type: reconcile.TxnPayment, AmountFen: ours[i].AmountFen}
		if i%100 == 0 {
			bank[i].AmountFen++
		}
	}
	return ours, bank
}

func BenchmarkMatch100k(b *testing.B) {
	ours, bank := dayOf100k(100_000)
	b.ResetTimer()
	for range b.N {
		if got := reconcile.Match(ours, bank); len(got.Mismatches) != 1000 {
			b.Fatalf("%d mismatches", len(got.Mismatches))
		}
	}
}

func BenchmarkParseSettlement100k(b *testing.B) {
	_, bank := dayOf100k(100_000)
	day, _ := reconcile.ParseDay("2026-12-05")
	data, err := reconcile.WriteSettlement(m1, day, bank)
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if _, err := reconcile.ParseSettlement(data, m1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkImport100k: a merchant day of 100,000 payments in the payments
// read model (rows copied in), its settlement file imported: parse and
// check, read the day, match, store file and report. Each iteration is a
// new day, so every one computes and stores.
func BenchmarkImport100k(b *testing.B) {
	ctx := context.Background()
	url := testpg.NewDatabase(b)
	store := pgstoretest.OpenURL(b, url)
	db, err := pgxpool.New(ctx, url)
	require.NoError(b, err)
	b.Cleanup(db.Close)
	require.NoError(b, payments.NewReadModel(db).Migrate(ctx))
	orders, err := reconcile.NewPaymentsOrders(store, db)
	require.NoError(b, err)
	svc, err := reconcile.NewService(ctx, orders, db, time.Now)
	require.NoError(b, err)
	merchants, err := commands.NewPipeline(domain.Merchants, store, time.Now)
	require.NoError(b, err)
	_, err = merchants.Handle(ctx, m1, env(), domain.RegisterMerchant{MerchantID: m1, AccountID: "acc-1", AppID: "app-1",
		Name: "药房", CreditCode: "91350100M000100Y43", MCC: "5912",
		Settlement: domain.SettlementAccount{BankCode: "102", AccountNo: "6222020000000001", Name: "药房"}, By: "bench", At: time.Now()})
	require.NoError(b, err)
	ours, bank := dayOf100k(100_000)
	var files [][]byte
	for i := range b.N {
		day := reconcile.DayOf(at(12, 0).AddDate(0, 0, i))
		rows := make([][]any, len(ours))
		for j, x := range ours {
			paid := x.At.AddDate(0, 0, i)
			rows[j] = []any{fmt.Sprintf("%d-%s", i, x.OrderID), m1, fmt.Sprintf("%d-%s", i, x.MerchantOrderNo), "app-1", x.AmountFen,
				"d", "http://shop/n", "paid", "102", x.BankTxnID, x.AmountFen, paid, day.String(), paid, day.String(), 2}
		}
		_, err := db.CopyFrom(ctx, pgx.Identifier{"payments", "orders"}, []string{"order_id", "merchant_id", "merchant_order_no",
			"app_id", "amount_fen", "description", "notify_url", "status", "bank_code", "bank_txn_id", "paid_fen", "created_at",
			"created_day", "paid_at", "paid_day", "revision"}, pgx.CopyFromRows(rows))
		require.NoError(b, err)
		data, err := reconcile.WriteSettlement(m1, day, bank)
		require.NoError(b, err)
		files = append(files, data)
	}
	_, err = db.Exec(ctx, `ANALYZE payments.orders`)
	require.NoError(b, err)
	b.ResetTimer()
	for i := range b.N {
		r, _, err := svc.Import(ctx, m1, files[i], "bench")
		if err != nil || len(r.Mismatches) != 1000 || r.Matched != 99_000 {
			b.Fatalf("%v %+v", err, r.Outcome.Ours)
		}
	}
}
