package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/reconcile"
)

// TestReconcileCommandLine: the daily file and totals of a day, a
// settlement file reconciled (a payment only the bank has), the same file
// again unchanged, a refused file naming line and field with nothing
// recorded, and the stored report with its CSV.
func TestReconcileCommandLine(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": url, "USER": "tester"}
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(ctx, env, args), out.String(), errOut.String()
	}
	code, _, stderr := cli("migrate")
	require.Equal(t, 0, code, stderr)
	const m1 = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
	merchants, err := commands.NewPipeline(domain.Merchants, pgstoretest.OpenURL(t, url), time.Now)
	require.NoError(t, err)
	_, err = merchants.Handle(ctx, m1, commands.NewEnvelope(domain.Actor{Client: "test"}, "test"), domain.RegisterMerchant{
		MerchantID: m1, AccountID: "acc-1", AppID: "app-1", Name: "药房", CreditCode: "91350100M000100Y43", MCC: "5912",
		Settlement: domain.SettlementAccount{BankCode: "102", AccountNo: "6222020000000001", Name: "药房"}, By: "test", At: time.Now()})
	require.NoError(t, err)

	dir := t.TempDir()
	code, stdout, stderr := cli("reconcile", "daily", m1, "2026-12-05")
	require.Equal(t, 0, code, stderr)
	assert.True(t, strings.HasPrefix(stdout, "H|CLR1|merchant_daily|"+m1+"|2026-12-05|0\nT|0|"), stdout)
	assert.Contains(t, stderr, m1+" 2026-12-05: 0 payments 0 fen, 0 refunds 0 fen, net 0 fen; sha256 ")

	day, err := reconcile.ParseDay("2026-12-05")
	require.NoError(t, err)
	data, err := reconcile.WriteSettlement(m1, day, []reconcile.SettlementLine{
		{BankCode: "102", BankTxnID: "T-9", Type: reconcile.TxnPayment, AmountFen: 650}})
	require.NoError(t, err)
	file := filepath.Join(dir, "settlement.txt")
	require.NoError(t, os.WriteFile(file, data, 0o644))
	code, stdout, stderr = cli("reconcile", "import", m1, file)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, m1+" 2026-12-05: 1 bank lines, 0 matched, 1 mismatches\n"+
		"  ours: 0 payments 0 fen, 0 refunds 0 fen, net 0 fen\n"+
		"  bank: 1 payments 650 fen, 0 refunds 0 fen, net 650 fen\n"+
		"  missing_ours 102 T-9 bank payment 650 (line 2)\n", stdout)
	code, again, stderr := cli("reconcile", "import", m1, file)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, file+": imported before; the day's report, unchanged:\n"+stdout, again)

	bad := filepath.Join(dir, "bad.txt")
	next, err := reconcile.ParseDay("2026-12-06")
	require.NoError(t, err)
	data, err = reconcile.WriteSettlement(m1, next, []reconcile.SettlementLine{
		{BankCode: "102", BankTxnID: "T-10", Type: reconcile.TxnPayment, AmountFen: 1}})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bad, bytes.Replace(data, []byte("|payment||1\n"), []byte("|payment||1.00\n"), 1), 0o644))
	code, _, stderr = cli("reconcile", "import", m1, bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "settlement file rejected, nothing recorded:\n  line 3: bad_checksum (")
	code, _, stderr = cli("reconcile", "report", m1, "2026-12-06")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "no settlement imported for that day")

	csvPath := filepath.Join(dir, "m.csv")
	code, report, stderr := cli("reconcile", "report", m1, "2026-12-05", "--csv", csvPath)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, stdout, report)
	csv, err := os.ReadFile(csvPath)
	require.NoError(t, err)
	assert.Equal(t, strings.Join(reconcile.CSVHeader, ",")+"\r\nmissing_ours,102,T-9,,,,,,payment,650,2\r\n", string(csv))

	code, _, stderr = cli("reconcile", "daily", "m404", "2026-12-05")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `no merchant "m404"`)
	code, _, stderr = cli("reconcile", "daily", m1)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "usage: cardledger reconcile daily MERCHANT DATE")
}
