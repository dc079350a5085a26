package reconcile_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/payments"
	"github.com/cardledger/cardledger/reconcile"
)

// The merchants of the tests.
const (
	m1 = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	m2 = "7a2f3e4d-5c6b-4a89-9706-b5c4d3e2f1a0"
)

// ledger writes merchants and orders through the one write pipeline and
// projects them into the payments read model, which the service reads
// through reconcile.PaymentsOrders.
type ledger struct {
	t         *testing.T
	store     eventstore.Store
	merchants *commands.Pipeline[*domain.Merchant, domain.MerchantCommand]
	orders    *commands.Pipeline[*domain.PaymentOrder, domain.PaymentOrderCommand]
	rm        *payments.ReadModel
}

func (l *ledger) handle(err error) {
	l.t.Helper()
	require.NoError(l.t, err)
}

func env() commands.Envelope { return commands.NewEnvelope(domain.Actor{Client: "test"}, "test") }

// merchant registers and approves a merchant of account through app.
func (l *ledger) merchant(id, account, app string) {
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	_, err := l.merchants.Handle(ctx, id, env(), domain.RegisterMerchant{MerchantID: id, AccountID: account, AppID: app,
		Name: "药房", CreditCode: "91350100M000100Y43", MCC: "5912",
		Settlement: domain.SettlementAccount{BankCode: "102", AccountNo: "6222020000000001", Name: "药房"}, By: "test", At: at})
	l.handle(err)
	_, err = l.merchants.Handle(ctx, id, env(), domain.ApproveMerchant{By: "admin", At: at})
	l.handle(err)
}

// pay creates and pays order no of merchant with the bank's reference ref.
func (l *ledger) pay(merchant, no string, fen int64, ref string, at time.Time) string {
	ctx := context.Background()
	id := domain.PaymentOrderIDFor(merchant, no)
	_, err := l.orders.Handle(ctx, id, env(), domain.CreatePaymentOrder{OrderID: id, MerchantID: merchant, MerchantOrderNo: no,
		AppID: "app-1", AmountFen: fen, Description: "药品", NotifyURL: "http://shop/n", At: at.Add(-time.Second)})
	l.handle(err)
	_, err = l.orders.Handle(ctx, id, env(), domain.PayPaymentOrder{Method: domain.PayByCode, Channel: "icbc", CardholderID: "h",
		BankCode: "102", Approved: true, BankTxnID: ref, At: at})
	l.handle(err)
	return id
}

func (l *ledger) refund(order, no string, fen int64, ref string, at time.Time) {
	_, err := l.orders.Handle(context.Background(), order, env(), domain.RefundPaymentOrder{RefundNo: no, AmountFen: fen, BankRefundID: ref, At: at})
	l.handle(err)
}

// project brings the read model up to the store.
func (l *ledger) project() {
	ctx := context.Background()
	all, err := l.store.ReadAll(ctx, eventstore.Start, 10000)
	l.handle(err)
	l.handle(l.rm.Apply(ctx, all))
}

type fixture struct {
	svc    *reconcile.Service
	ledger *ledger
	db     *pgxpool.Pool
}

var clock = time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	url := testpg.NewDatabase(t)
	store := pgstoretest.OpenURL(t, url)
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MaxConns = 4
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	l := &ledger{t: t, store: store, rm: payments.NewReadModel(db)}
	require.NoError(t, l.rm.Migrate(ctx))
	l.merchants, err = commands.NewPipeline(domain.Merchants, store, time.Now)
	require.NoError(t, err)
	l.orders, err = commands.NewPipeline(domain.PaymentOrders, store, time.Now)
	require.NoError(t, err)
	orders, err := reconcile.NewPaymentsOrders(store, db)
	require.NoError(t, err)
	svc, err := reconcile.NewService(ctx, orders, db, func() time.Time { return clock })
	require.NoError(t, err)
	return fixture{svc: svc, ledger: l, db: db}
}

// at is a time of the Beijing day 2026-12-05.
func at(hour, minute int) time.Time {
	return time.Date(2026, 12, 5, hour, minute, 0, 0, reconcile.Beijing)
}

func sl(id, kind string, fen int64) reconcile.SettlementLine {
	return reconcile.SettlementLine{BankCode: "102", BankTxnID: id, Type: kind, AmountFen: fen}
}

// plant fills the day 2026-12-05 of merchant m1 with one transaction of
// each situation: matched (a payment, a refund), missing on our side,
// missing on the bank's side, amount differs, type differs; plus
// transactions of the days before and after and of another merchant,
// which the day leaves out. It returns the bank's settlement file of the
// day and the planted orders' ids by merchant order number.
func plant(t *testing.T, f fixture) ([]byte, map[string]string) {
	l := f.ledger
	l.merchant(m1, "acc-1", "app-1")
	l.merchant(m2, "acc-2", "app-2")
	ids := map[string]string{}
	ids["A-ok"] = l.pay(m1, "A-ok", 1200, "p-ok", at(0, 0)) // the day's first instant
	// paid the day before, refunded on the day: only the refund is the day's
	ids["A-refunded"] = l.pay(m1, "A-refunded", 900, "p-before", time.Date(2026, 12, 4, 23, 59, 59, 0, reconcile.Beijing))
	l.refund(ids["A-refunded"], "RF-1", 200, "r-ok", at(23, 59))
	ids["A-only-ours"] = l.pay(m1, "A-only-ours", 300, "p-only-ours", at(9, 30)) // the bank missed it
	ids["A-amount"] = l.pay(m1, "A-amount", 5000, "p-amount", at(10, 0))         // the bank settled 4999
	ids["A-type"] = l.pay(m1, "A-type", 800, "p-type", at(11, 0))                // the bank settled a refund
	l.pay(m1, "A-after", 1, "p-after", time.Date(2026, 12, 6, 0, 0, 0, 0, reconcile.Beijing))
	l.pay(m2, "B-1", 700, "p-other-merchant", at(12, 0))
	l.project()
	day, _ := reconcile.ParseDay("2026-12-05")
	only := sl("p-only-bank", reconcile.TxnPayment, 650)
	only.OrderID = "ord-unknown"
	data, err := reconcile.WriteSettlement(m1, day, []reconcile.SettlementLine{
		sl("r-ok", reconcile.TxnRefund, 200),
		sl("p-amount", reconcile.TxnPayment, 4999),
		only,
		sl("p-ok", reconcile.TxnPayment, 1200),
		sl("p-type", reconcile.TxnRefund, 800),
	})
	require.NoError(t, err)
	return data, ids
}

func fen(v int64) *int64 { return &v }

func TestReconciliationWithPlantedMismatchesOfEachKind(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	data, ids := plant(t, f)
	r, replayed, err := f.svc.Import(ctx, m1, data, "app-1")
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, "2026-12-05", r.Date)
	assert.Equal(t, 5, r.Lines)
	assert.Equal(t, 2, r.Matched)
	assert.Equal(t, []reconcile.Mismatch{
		{Kind: reconcile.AmountDiffers, BankCode: "102", BankTxnID: "p-amount", OrderID: ids["A-amount"], MerchantOrderNo: "A-amount",
			OurType: "payment", OurAmountFen: fen(5000), BankType: "payment", BankAmountFen: fen(4999), BankLine: 3},
		{Kind: reconcile.MissingOurs, BankCode: "102", BankTxnID: "p-only-bank", OrderID: "ord-unknown", BankType: "payment",
			BankAmountFen: fen(650), BankLine: 4},
		{Kind: reconcile.MissingBank, BankCode: "102", BankTxnID: "p-only-ours", OrderID: ids["A-only-ours"], MerchantOrderNo: "A-only-ours",
			OurType: "payment", OurAmountFen: fen(300)},
		{Kind: reconcile.TypeDiffers, BankCode: "102", BankTxnID: "p-type", OrderID: ids["A-type"], MerchantOrderNo: "A-type",
			OurType: "payment", OurAmountFen: fen(800), BankType: "refund", BankAmountFen: fen(800), BankLine: 6},
	}, r.Mismatches)
	assert.Equal(t, reconcile.Totals{Payments: 4, PaymentFen: 1200 + 300 + 5000 + 800, Refunds: 1, RefundFen: 200,
		NetFen: 1200 + 300 + 5000 + 800 - 200}, r.Ours)
	assert.Equal(t, reconcile.Totals{Payments: 3, PaymentFen: 4999 + 650 + 1200, Refunds: 2, RefundFen: 1000,
		NetFen: 4999 + 650 + 1200 - 1000}, r.Bank)

	// The CSV says the same, row by row.
	var buf bytes.Buffer
	require.NoError(t, reconcile.WriteCSV(&buf, r))
	assert.Equal(t, "kind,bank_code,bank_txn_id,order_id,merchant_order_no,refund_no,our_type,our_amount_fen,bank_type,bank_amount_fen,bank_line\r\n"+
		"amount_differs,102,p-amount,"+ids["A-amount"]+",A-amount,,payment,5000,payment,4999,3\r\n"+
		"missing_ours,102,p-only-bank,ord-unknown,,,,,payment,650,4\r\n"+
		"missing_bank,102,p-only-ours,"+ids["A-only-ours"]+",A-only-ours,,payment,300,,,\r\n"+
		"type_differs,102,p-type,"+ids["A-type"]+",A-type,,payment,800,refund,800,6\r\n", buf.String())

	stored, err := f.svc.Report(ctx, m1, mustDay(t, "2026-12-05"))
	require.NoError(t, err)
	assert.Equal(t, r, stored)
}

func mustDay(t *testing.T, s string) reconcile.Day {
	t.Helper()
	d, err := reconcile.ParseDay(s)
	require.NoError(t, err)
	return d
}

// Re-running a day changes nothing: the same file answers the stored
// report even after our side changed, one row stays; another file for the
// day is refused and leaves the first in place.
func TestReRunningADayChangesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	data, _ := plant(t, f)
	first, _, err := f.svc.Import(ctx, m1, data, "app-1")
	require.NoError(t, err)
	f.ledger.pay(m1, "A-late", 10, "p-late", at(13, 0))
	f.ledger.project()
	again, replayed, err := f.svc.Import(ctx, m1, data, "admin")
	require.NoError(t, err)
	assert.True(t, replayed)
	assert.Equal(t, first, again)

	other := bytes.Replace(data, []byte("|650\n"), []byte("|651\n"), 1)
	other = reframe(t, other)
	_, _, err = f.svc.Import(ctx, m1, other, "app-1")
	assert.ErrorIs(t, err, reconcile.ErrDifferentFile)

	var rows int
	require.NoError(t, f.db.QueryRow(ctx, `SELECT count(*) FROM reconciliation_settlements`).Scan(&rows))
	assert.Equal(t, 1, rows)
	stored, err := f.svc.Report(ctx, m1, mustDay(t, "2026-12-05"))
	require.NoError(t, err)
	assert.Equal(t, first, stored)
}

// Imports of the same file racing each other record one report and all
// answer it.
func TestConcurrentImportsOfADayRecordOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	data, _ := plant(t, f)
	type answer struct {
		r   *reconcile.DayReport
		err error
	}
	answers := make(chan answer, 4)
	for i := range 4 {
		go func() {
			r, _, err := f.svc.Import(ctx, m1, data, fmt.Sprintf("client-%d", i))
			answers <- answer{r, err}
		}()
	}
	var reports []*reconcile.DayReport
	for range 4 {
		a := <-answers
		require.NoError(t, a.err)
		reports = append(reports, a.r)
	}
	for _, r := range reports[1:] {
		assert.Equal(t, reports[0], r)
	}
	var rows int
	require.NoError(t, f.db.QueryRow(ctx, `SELECT count(*) FROM reconciliation_settlements`).Scan(&rows))
	assert.Equal(t, 1, rows)
}

// A settlement file with bad framing is refused and records nothing.
func TestBadSettlementFileRecordsNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	data, _ := plant(t, f)
	broken := bytes.Replace(data, []byte("|4999\n"), []byte("|4998\n"), 1) // the checksum no longer holds
	_, _, err := f.svc.Import(ctx, m1, broken, "app-1")
	var re *reconcile.RejectedError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "bad_checksum", re.Problems[0].Code)
	assert.Equal(t, 7, re.Problems[0].Line)
	_, err = f.svc.Report(ctx, m1, mustDay(t, "2026-12-05"))
	assert.ErrorIs(t, err, reconcile.ErrNoReport)
	var rows int
	require.NoError(t, f.db.QueryRow(ctx, `SELECT count(*) FROM reconciliation_settlements`).Scan(&rows))
	assert.Equal(t, 0, rows)
}

func TestDailyStatementHasTheDaysTransactionsAndTotals(t *testing.T) {
	f := newFixture(t)
	_, ids := plant(t, f)
	st, err := f.svc.Daily(context.Background(), m1, mustDay(t, "2026-12-05"))
	require.NoError(t, err)
	assert.Equal(t, reconcile.Totals{Payments: 4, PaymentFen: 7300, Refunds: 1, RefundFen: 200, NetFen: 7100}, st.Totals)
	lines := strings.Split(strings.TrimSuffix(string(st.File), "\n"), "\n")
	require.Len(t, lines, 7)
	assert.Equal(t, "H|CLR1|merchant_daily|"+m1+"|2026-12-05|5", lines[0])
	assert.Equal(t, "D|1|102|p-ok|payment|"+ids["A-ok"]+"|A-ok||1200|2026-12-05T00:00:00+08:00", lines[1])
	assert.Equal(t, "D|5|102|r-ok|refund|"+ids["A-refunded"]+"|A-refunded|RF-1|200|2026-12-05T23:59:00+08:00", lines[5])
	again, err := f.svc.Daily(context.Background(), m1, mustDay(t, "2026-12-05"))
	require.NoError(t, err)
	assert.Equal(t, st, again)
}

// reframe fixes the trailer of an edited settlement file.
func reframe(t *testing.T, data []byte) []byte {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	h := strings.Split(lines[0], "|")
	day := mustDay(t, h[4])
	var out []reconcile.SettlementLine
	for _, l := range lines[1 : len(lines)-1] {
		fs := strings.Split(l, "|")
		var n int64
		_, err := fmt.Sscan(fs[6], &n)
		require.NoError(t, err)
		out = append(out, reconcile.SettlementLine{BankCode: fs[2], BankTxnID: fs[3], Type: fs[4], OrderID: fs[5], AmountFen: n})
	}
	fixed, err := reconcile.WriteSettlement(h[3], day, out)
	require.NoError(t, err)
	return fixed
}
