package reconcile

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var noon = time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC)

func txn(id, kind string, fen int64) Txn {
	return Txn{BankCode: "ICBC", BankTxnID: id, Type: kind, OrderID: "o-" + id, MerchantOrderNo: "M" + id, AmountFen: fen, At: noon}
}

func line(n int, id, kind string, fen int64) SettlementLine {
	return SettlementLine{Line: n, BankCode: "ICBC", BankTxnID: id, Type: kind, OrderID: "o-" + id, AmountFen: fen}
}

func fen(v int64) *int64 { return &v }

// Each transaction is in one of five situations; every combination of
// situations for three transactions, in both input orders, gives exactly
// one mismatch per differing transaction, of its kind, with both sides'
// values, and the totals of each side.
func TestMatchEveryCombinationOfSituations(t *testing.T) {
	type situation struct {
		name string
		kind string // "" when the two sides agree
		ours func(id string) []Txn
		bank func(n int, id string) []SettlementLine
	}
	situations := []situation{
		{"agree", "", func(id string) []Txn { return []Txn{txn(id, TxnPayment, 1000)} },
			func(n int, id string) []SettlementLine { return []SettlementLine{line(n, id, TxnPayment, 1000)} }},
		{"only bank", MissingOurs, func(string) []Txn { return nil },
			func(n int, id string) []SettlementLine { return []SettlementLine{line(n, id, TxnPayment, 700)} }},
		{"only ours", MissingBank, func(id string) []Txn { return []Txn{txn(id, TxnRefund, 300)} },
			func(int, string) []SettlementLine { return nil }},
		{"amount", AmountDiffers, func(id string) []Txn { return []Txn{txn(id, TxnPayment, 1000)} },
			func(n int, id string) []SettlementLine { return []SettlementLine{line(n, id, TxnPayment, 999)} }},
		{"type", TypeDiffers, func(id string) []Txn { return []Txn{txn(id, TxnPayment, 500)} },
			func(n int, id string) []SettlementLine { return []SettlementLine{line(n, id, TxnRefund, 500)} }},
	}
	ids := []string{"t1", "t2", "t3"}
	for a := range situations {
		for b := range situations {
			for c := range situations {
				picked := []situation{situations[a], situations[b], situations[c]}
				name := fmt.Sprintf("%s/%s/%s", picked[0].name, picked[1].name, picked[2].name)
				var ours []Txn
				var bank []SettlementLine
				var wantOurs, wantBank Totals
				var want []Mismatch
				matched := 0
				for i, s := range picked {
					o, bk := s.ours(ids[i]), s.bank(len(bank)+2, ids[i])
					ours, bank = append(ours, o...), append(bank, bk...)
					for _, x := range o {
						wantOurs.add(x.Type, x.AmountFen)
					}
					for _, l := range bk {
						wantBank.add(l.Type, l.AmountFen)
					}
					if s.kind == "" {
						matched++
						continue
					}
					m := Mismatch{Kind: s.kind, BankCode: "ICBC", BankTxnID: ids[i], OrderID: "o-" + ids[i]}
					if len(o) == 1 {
						m.MerchantOrderNo, m.OurType, m.OurAmountFen = o[0].MerchantOrderNo, o[0].Type, fen(o[0].AmountFen)
					}
					if len(bk) == 1 {
						m.BankType, m.BankAmountFen, m.BankLine = bk[0].Type, fen(bk[0].AmountFen), bk[0].Line
					}
					want = append(want, m)
				}
				if want == nil {
					want = []Mismatch{}
				}
				for _, reversed := range []bool{false, true} {
					o, bk := append([]Txn(nil), ours...), append([]SettlementLine(nil), bank...)
					if reversed {
						reverse(o)
						reverse(bk)
					}
					got := Match(o, bk)
					require.Equal(t, want, got.Mismatches, "%s reversed=%v", name, reversed)
					require.Equal(t, matched, got.Matched, name)
					require.Equal(t, wantOurs, got.Ours, name)
					require.Equal(t, wantBank, got.Bank, name)
				}
			}
		}
	}
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// The same reference at two banks is two transactions.
func TestMatchKeysOnBankAndReference(t *testing.T) {
	abc := txn("t1", TxnPayment, 100)
	abc.BankCode = "ABC"
	got := Match([]Txn{txn("t1", TxnPayment, 100), abc}, []SettlementLine{line(2, "t1", TxnPayment, 100)})
	assert.Equal(t, 1, got.Matched)
	require.Len(t, got.Mismatches, 1)
	assert.Equal(t, Mismatch{Kind: MissingBank, BankCode: "ABC", BankTxnID: "t1", OrderID: "o-t1", MerchantOrderNo: "Mt1",
		OurType: TxnPayment, OurAmountFen: fen(100)}, got.Mismatches[0])
}

func TestMatchOfNothingIsAnEmptyReport(t *testing.T) {
	got := Match(nil, nil)
	assert.Equal(t, Outcome{Mismatches: []Mismatch{}}, got)
}

// Refunds count apart and come off the net; every transaction is on both
// sides once, so nothing mismatches however the inputs are shuffled.
func TestMatchTotalsAndShuffles(t *testing.T) {
	var ours []Txn
	var bank []SettlementLine
	for i := range 200 {
		id := fmt.Sprintf("t%03d", i)
		kind, amount := TxnPayment, int64(100+i)
		if i%5 == 0 {
			kind, amount = TxnRefund, int64(i+1)
		}
		ours = append(ours, txn(id, kind, amount))
		bank = append(bank, line(i+2, id, kind, amount))
	}
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(bank), func(i, j int) { bank[i], bank[j] = bank[j], bank[i] })
	got := Match(ours, bank)
	assert.Empty(t, got.Mismatches)
	assert.Equal(t, 200, got.Matched)
	want := Totals{Payments: 160, Refunds: 40}
	for _, x := range ours {
		if x.Type == TxnRefund {
			want.RefundFen += x.AmountFen
		} else {
			want.PaymentFen += x.AmountFen
		}
	}
	want.NetFen = want.PaymentFen - want.RefundFen
	assert.Equal(t, want, got.Ours)
	assert.Equal(t, want, got.Bank)
}

func TestCSVCellsAreNeverFormulas(t *testing.T) {
	x := txn("=HYPERLINK(1)", TxnPayment, 5)
	x.MerchantOrderNo = "@SUM(A1)"
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, &DayReport{Outcome: Match([]Txn{x}, nil)}))
	assert.Equal(t, strings.Join(CSVHeader, ",")+"\r\n"+
		`missing_bank,ICBC,'=HYPERLINK(1),o-=HYPERLINK(1),'@SUM(A1),,payment,5,,,`+"\r\n", buf.String())
}
