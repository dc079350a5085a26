package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/reconcile"
)

// tableOrders is the orders port over a real table the tests fill.
type tableOrders struct{ db *pgxpool.Pool }

const ordersSchema = `
CREATE TABLE test_merchants (merchant_id text PRIMARY KEY, account_id text NOT NULL, app_ids text[] NOT NULL);
CREATE TABLE test_txns (merchant_id text NOT NULL, bank_code text NOT NULL, bank_txn_id text NOT NULL, txn_type text NOT NULL,
	order_id text NOT NULL, merchant_order_no text NOT NULL, refund_no text NOT NULL, amount_fen bigint NOT NULL, at timestamptz NOT NULL,
	PRIMARY KEY (bank_code, bank_txn_id));`

func (o tableOrders) Merchant(ctx context.Context, id string) (reconcile.Merchant, error) {
	m := reconcile.Merchant{ID: id}
	err := o.db.QueryRow(ctx, `SELECT account_id, app_ids FROM test_merchants WHERE merchant_id = $1`, id).Scan(&m.AccountID, &m.AppIDs)
	if errors.Is(err, pgx.ErrNoRows) {
		return m, reconcile.ErrNoMerchant
	}
	return m, err
}

func (o tableOrders) Transactions(ctx context.Context, merchant string, from, to time.Time) ([]reconcile.Txn, error) {
	rows, err := o.db.Query(ctx, `SELECT bank_code, bank_txn_id, txn_type, order_id, merchant_order_no, refund_no, amount_fen, at
		FROM test_txns WHERE merchant_id = $1 AND at >= $2 AND at < $3`, merchant, from, to)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (reconcile.Txn, error) {
		var x reconcile.Txn
		err := r.Scan(&x.BankCode, &x.BankTxnID, &x.Type, &x.OrderID, &x.MerchantOrderNo, &x.RefundNo, &x.AmountFen, &x.At)
		return x, err
	})
}

func (o tableOrders) add(t *testing.T, merchant string, xs ...reconcile.Txn) {
	t.Helper()
	for _, x := range xs {
		_, err := o.db.Exec(context.Background(), `INSERT INTO test_txns VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			merchant, x.BankCode, x.BankTxnID, x.Type, x.OrderID, x.MerchantOrderNo, x.RefundNo, x.AmountFen, x.At)
		require.NoError(t, err)
	}
}

type fixture struct {
	svc    *reconcile.Service
	orders tableOrders
	db     *pgxpool.Pool
}

var clock = time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	url := testpg.NewDatabase(t)
	cfg, err := pgxpool.ParseConfig(url)
	require.NoError(t, err)
	cfg.MaxConns = 4
	db, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	t.Cleanup(db.Close)
	_, err = db.Exec(ctx, ordersSchema)
	require.NoError(t, err)
	o := tableOrders{db: db}
	svc, err := reconcile.NewService(ctx, o, db, func() time.Time { return clock })
	require.NoError(t, err)
	return fixture{svc: svc, orders: o, db: db}
}

// at is a time of the Beijing day 2026-12-05.
func at(hour, minute int) time.Time {
	return time.Date(2026, 12, 5, hour, minute, 0, 0, reconcile.Beijing)
}

func tx(id, kind string, fen int64, when time.Time) reconcile.Txn {
	x := reconcile.Txn{BankCode: "ICBC", BankTxnID: id, Type: kind, OrderID: "ord-" + id, MerchantOrderNo: "NO-" + id, AmountFen: fen, At: when}
	if kind == reconcile.TxnRefund {
		x.RefundNo = "RF-" + id
	}
	return x
}

func sl(id, kind string, fen int64) reconcile.SettlementLine {
	return reconcile.SettlementLine{BankCode: "ICBC", BankTxnID: id, Type: kind, OrderID: "ord-" + id, AmountFen: fen}
}

// plant fills a day with one transaction of each situation: matched,
// missing on our side, missing on the bank's side, amount differs, type
// differs; plus transactions of the days before and after, which the day
// leaves out.
func plant(t *testing.T, f fixture) []byte {
	f.orders.add(t, "m1",
		tx("p-ok", reconcile.TxnPayment, 1200, at(0, 0)),        // the day's first instant
		tx("r-ok", reconcile.TxnRefund, 200, at(23, 59)),        // a refund, near the end
		tx("p-only-ours", reconcile.TxnPayment, 300, at(9, 30)), // the bank missed it
		tx("p-amount", reconcile.TxnPayment, 5000, at(10, 0)),   // the bank settled 4999
		tx("p-type", reconcile.TxnPayment, 800, at(11, 0)),      // the bank settled a refund
		tx("p-before", reconcile.TxnPayment, 1, time.Date(2026, 12, 4, 23, 59, 59, 0, reconcile.Beijing)),
		tx("p-after", reconcile.TxnPayment, 1, time.Date(2026, 12, 6, 0, 0, 0, 0, reconcile.Beijing)))
	f.orders.add(t, "m2", tx("p-other-merchant", reconcile.TxnPayment, 700, at(12, 0)))
	day, _ := reconcile.ParseDay("2026-12-05")
	data, err := reconcile.WriteSettlement("m1", day, []reconcile.SettlementLine{
		sl("r-ok", reconcile.TxnRefund, 200),
		sl("p-amount", reconcile.TxnPayment, 4999),
		sl("p-only-bank", reconcile.TxnPayment, 650),
		sl("p-ok", reconcile.TxnPayment, 1200),
		sl("p-type", reconcile.TxnRefund, 800),
	})
	require.NoError(t, err)
	return data
}

func fen(v int64) *int64 { return &v }

func TestReconciliationWithPlantedMismatchesOfEachKind(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	data := plant(t, f)
	r, replayed, err := f.svc.Import(ctx, "m1", data, "app-1")
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, "2026-12-05", r.Date)
	assert.Equal(t, 5, r.Lines)
	assert.Equal(t, 2, r.Matched)
	assert.Equal(t, []reconcile.Mismatch{
		{Kind: reconcile.AmountDiffers, BankCode: "ICBC", BankTxnID: "p-amount", OrderID: "ord-p-amount", MerchantOrderNo: "NO-p-amount",
			OurType: "payment", OurAmountFen: fen(5000), BankType: "payment", BankAmountFen: fen(4999), BankLine: 3},
		{Kind: reconcile.MissingOurs, BankCode: "ICBC", BankTxnID: "p-only-bank", OrderID: "ord-p-only-bank", BankType: "payment",
			BankAmountFen: fen(650), BankLine: 4},
		{Kind: reconcile.MissingBank, BankCode: "ICBC", BankTxnID: "p-only-ours", OrderID: "ord-p-only-ours", MerchantOrderNo: "NO-p-only-ours",
			OurType: "payment", OurAmountFen: fen(300)},
		{Kind: reconcile.TypeDiffers, BankCode: "ICBC", BankTxnID: "p-type", OrderID: "ord-p-type", MerchantOrderNo: "NO-p-type",
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
		"amount_differs,ICBC,p-amount,ord-p-amount,NO-p-amount,,payment,5000,payment,4999,3\r\n"+
		"missing_ours,ICBC,p-only-bank,ord-p-only-bank,,,,,payment,650,4\r\n"+
		"missing_bank,ICBC,p-only-ours,ord-p-only-ours,NO-p-only-ours,,payment,300,,,\r\n"+
		"type_differs,ICBC,p-type,ord-p-type,NO-p-type,,payment,800,refund,800,6\r\n", buf.String())

	stored, err := f.svc.Report(ctx, "m1", mustDay(t, "2026-12-05"))
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
	data := plant(t, f)
	first, _, err := f.svc.Import(ctx, "m1", data, "app-1")
	require.NoError(t, err)
	f.orders.add(t, "m1", tx("p-late", reconcile.TxnPayment, 10, at(13, 0)))
	again, replayed, err := f.svc.Import(ctx, "m1", data, "admin")
	require.NoError(t, err)
	assert.True(t, replayed)
	assert.Equal(t, first, again)

	other := bytes.Replace(data, []byte("|650\n"), []byte("|651\n"), 1)
	other = reframe(t, other)
	_, _, err = f.svc.Import(ctx, "m1", other, "app-1")
	assert.ErrorIs(t, err, reconcile.ErrDifferentFile)

	var rows int
	require.NoError(t, f.db.QueryRow(ctx, `SELECT count(*) FROM reconciliation_settlements`).Scan(&rows))
	assert.Equal(t, 1, rows)
	stored, err := f.svc.Report(ctx, "m1", mustDay(t, "2026-12-05"))
	require.NoError(t, err)
	assert.Equal(t, first, stored)
}

// Imports of the same file racing each other record one report and all
// answer it.
func TestConcurrentImportsOfADayRecordOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	data := plant(t, f)
	type answer struct {
		r   *reconcile.Report
		err error
	}
	answers := make(chan answer, 4)
	for i := range 4 {
		go func() {
			r, _, err := f.svc.Import(ctx, "m1", data, fmt.Sprintf("client-%d", i))
			answers <- answer{r, err}
		}()
	}
	var reports []*reconcile.Report
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
	data := plant(t, f)
	broken := bytes.Replace(data, []byte("|4999\n"), []byte("|4998\n"), 1) // the checksum no longer holds
	_, _, err := f.svc.Import(ctx, "m1", broken, "app-1")
	var re *reconcile.RejectedError
	require.ErrorAs(t, err, &re)
	assert.Equal(t, "bad_checksum", re.Problems[0].Code)
	assert.Equal(t, 7, re.Problems[0].Line)
	_, err = f.svc.Report(ctx, "m1", mustDay(t, "2026-12-05"))
	assert.ErrorIs(t, err, reconcile.ErrNoReport)
	var rows int
	require.NoError(t, f.db.QueryRow(ctx, `SELECT count(*) FROM reconciliation_settlements`).Scan(&rows))
	assert.Equal(t, 0, rows)
}

func TestDailyStatementHasTheDaysTransactionsAndTotals(t *testing.T) {
	f := newFixture(t)
	plant(t, f)
	st, err := f.svc.Daily(context.Background(), "m1", mustDay(t, "2026-12-05"))
	require.NoError(t, err)
	assert.Equal(t, reconcile.Totals{Payments: 4, PaymentFen: 7300, Refunds: 1, RefundFen: 200, NetFen: 7100}, st.Totals)
	lines := strings.Split(strings.TrimSuffix(string(st.File), "\n"), "\n")
	require.Len(t, lines, 7)
	assert.Equal(t, "H|CLR1|merchant_daily|m1|2026-12-05|5", lines[0])
	assert.Equal(t, "D|1|ICBC|p-ok|payment|ord-p-ok|NO-p-ok||1200|2026-12-05T00:00:00+08:00", lines[1])
	assert.Equal(t, "D|5|ICBC|r-ok|refund|ord-r-ok|NO-r-ok|RF-r-ok|200|2026-12-05T23:59:00+08:00", lines[5])
	again, err := f.svc.Daily(context.Background(), "m1", mustDay(t, "2026-12-05"))
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
