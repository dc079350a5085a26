package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const merchant = "m-0001"

func day(t *testing.T, s string) Day {
	t.Helper()
	d, err := ParseDay(s)
	require.NoError(t, err)
	return d
}

func TestDailyFileIsFramedAndTheSameForTheSameTransactions(t *testing.T) {
	d := day(t, "2026-12-05")
	a := txn("t2", TxnPayment, 1250)
	a.At = time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC)
	b := txn("t1", TxnRefund, 250)
	b.At, b.RefundNo = time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC), "RF|1" // a '|' never breaks the framing
	c := txn("t0", TxnPayment, 99)
	c.At = a.At
	data, err := WriteDaily(merchant, d, []Txn{b, a, c})
	require.NoError(t, err)
	again, err := WriteDaily(merchant, d, []Txn{c, a, b})
	require.NoError(t, err)
	assert.Equal(t, string(data), string(again))
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Len(t, lines, 5)
	assert.Equal(t, "H|CLR1|merchant_daily|m-0001|2026-12-05|3", lines[0])
	assert.Equal(t, "D|1|ICBC|t0|payment|o-t0|Mt0||99|2026-12-05T09:02:03+08:00", lines[1])
	assert.Equal(t, "D|2|ICBC|t2|payment|o-t2|Mt2||1250|2026-12-05T09:02:03+08:00", lines[2])
	assert.Equal(t, "D|3|ICBC|t1|refund|o-t1|Mt1|RF 1|250|2026-12-05T11:00:00+08:00", lines[3])
	assert.Regexp(t, `^T\|3\|[0-9a-f]{64}$`, lines[4])
	fr, err := Layout.Parse(data)
	require.NoError(t, err)
	assert.Equal(t, KindMerchantDaily, fr.Kind)
}

func TestBeijingDays(t *testing.T) {
	d := DayOf(time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)) // 00:00 on the 5th in Beijing
	assert.Equal(t, "2026-12-05", d.String())
	from, to := d.Bounds()
	assert.Equal(t, time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC), from.UTC())
	assert.Equal(t, time.Date(2026, 12, 5, 16, 0, 0, 0, time.UTC), to.UTC())
	assert.Equal(t, "2026-12-04", DayOf(time.Date(2026, 12, 4, 15, 59, 59, 0, time.UTC)).String())
	_, err := ParseDay("2026-13-01")
	assert.Error(t, err)
}

func settlement(t *testing.T) []byte {
	t.Helper()
	data, err := WriteSettlement(merchant, day(t, "2026-12-05"), []SettlementLine{
		line(0, "t1", TxnPayment, 1250), line(0, "t2", TxnRefund, 250)})
	require.NoError(t, err)
	return data
}

func TestSettlementFileReadsBack(t *testing.T) {
	data := settlement(t)
	assert.True(t, strings.HasPrefix(string(data), "H|CLR1|bank_settlement|m-0001|2026-12-05|2\nD|1|ICBC|t1|payment|o-t1|1250\n"))
	s, err := ParseSettlement(data, merchant)
	require.NoError(t, err)
	assert.Equal(t, "2026-12-05", s.Day.String())
	assert.Equal(t, []SettlementLine{line(2, "t1", TxnPayment, 1250), line(3, "t2", TxnRefund, 250)}, s.Lines)
	// the order id is the bank's courtesy: it may be left out
	s, err = ParseSettlement([]byte(string(settlementWithout(t))), merchant)
	require.NoError(t, err)
	assert.Equal(t, "", s.Lines[0].OrderID)
	assert.Len(t, s.SHA256, 64)
}

// Every way a settlement file can be wrong is refused whole, naming the
// line, the field where there is one, and the code.
func TestSettlementFileRefusalsNameLineFieldAndCode(t *testing.T) {
	good := string(settlement(t))
	// fixTrailer makes the count and checksum right again after edit, so
	// that only the checks after the framing can refuse the file.
	fixTrailer := func(edit func(string) string) func(string) string {
		return func(s string) string {
			edited := edit(s)
			fr := strings.Split(strings.TrimSuffix(edited, "\n"), "\n")
			body := strings.Join(fr[1:len(fr)-1], "\n") + "\n"
			data, err := rawFrame(fr[0], body)
			require.NoError(t, err)
			return data
		}
	}
	cases := []struct {
		name      string
		edit      func(string) string
		line      int
		field     string
		code      string
		otherLine bool // more problems may come first
	}{
		{"edited line, checksum kept", func(s string) string { return strings.Replace(s, "|1250\n", "|1251\n", 1) }, 4, "", "bad_checksum", false},
		{"dropped line", func(s string) string { return strings.Replace(s, "D|2|ICBC|t2|refund|o-t2|250\n", "", 1) }, 3, "", "bad_line_count", true},
		{"truncated", func(s string) string { return s[:len(s)-5] }, 0, "", "bad_trailer", false},
		{"CRLF", func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }, 2, "", "bad_line", false},
		{"missing field", func(s string) string { return strings.Replace(s, "|o-t1", "", 1) }, 2, "", "bad_line", false},
		{"not ours", func(s string) string { return strings.Replace(s, "CLR1", "CLB1", 1) }, 1, "", "bad_header", false},
		{"resequenced", func(s string) string { return strings.Replace(s, "D|2|", "D|3|", 1) }, 3, "", "bad_sequence", false},
		{"not UTF-8", func(s string) string { return strings.Replace(s, "o-t1", "o-\xff", 1) }, 0, "", "bad_encoding", false},
		{"our own daily file", fixTrailer(func(s string) string {
			return strings.Replace(s, "bank_settlement", "merchant_daily", 1)
		}), 1, "kind", CodeWrongKind, true},
		{"another merchant's", fixTrailer(func(s string) string { return strings.Replace(s, "|m-0001|", "|m-0002|", 1) }), 1, "merchant", CodeWrongMerchant, false},
		{"no such day", fixTrailer(func(s string) string { return strings.Replace(s, "2026-12-05", "2026-02-30", 1) }), 1, "date", CodeBadDate, false},
		{"no bank", fixTrailer(func(s string) string { return strings.Replace(s, "D|2|ICBC|", "D|2||", 1) }), 3, "bank_code", CodeBadBankCode, false},
		{"empty reference", fixTrailer(func(s string) string { return strings.Replace(s, "|t2|", "||", 1) }), 3, "bank_txn_id", CodeBadTxnID, false},
		{"long reference", fixTrailer(func(s string) string { return strings.Replace(s, "|t2|", "|"+strings.Repeat("x", 65)+"|", 1) }), 3, "bank_txn_id", CodeBadTxnID, false},
		{"spaced reference", fixTrailer(func(s string) string { return strings.Replace(s, "|t2|", "|t 2|", 1) }), 3, "bank_txn_id", CodeBadTxnID, false},
		{"twice the same txn", fixTrailer(func(s string) string { return strings.Replace(s, "|t2|", "|t1|", 1) }), 3, "bank_txn_id", CodeDuplicateTxn, false},
		{"long order id", fixTrailer(func(s string) string { return strings.Replace(s, "|o-t2|", "|"+strings.Repeat("o", 65)+"|", 1) }), 3, "order_id", CodeBadOrderID, false},
		{"unknown type", fixTrailer(func(s string) string { return strings.Replace(s, "|refund|", "|chargeback|", 1) }), 3, "txn_type", CodeBadTxnType, false},
		{"zero", fixTrailer(func(s string) string { return strings.Replace(s, "|250\n", "|0\n", 1) }), 3, "amount_fen", CodeBadAmount, false},
		{"negative", fixTrailer(func(s string) string { return strings.Replace(s, "|250\n", "|-250\n", 1) }), 3, "amount_fen", CodeBadAmount, false},
		{"yuan with decimals", fixTrailer(func(s string) string { return strings.Replace(s, "|250\n", "|2.50\n", 1) }), 3, "amount_fen", CodeBadAmount, false},
		{"leading zero", fixTrailer(func(s string) string { return strings.Replace(s, "|250\n", "|0250\n", 1) }), 3, "amount_fen", CodeBadAmount, false},
		{"over the limit", fixTrailer(func(s string) string { return strings.Replace(s, "|250\n", "|1000000000000000\n", 1) }), 3, "amount_fen", CodeBadAmount, false},
		{"empty amount", fixTrailer(func(s string) string { return strings.Replace(s, "|250\n", "|\n", 1) }), 3, "amount_fen", CodeBadAmount, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseSettlement([]byte(c.edit(good)), merchant)
			var re *RejectedError
			require.True(t, errors.As(err, &re), "err = %v", err)
			assert.ErrorIs(t, err, ErrRejected)
			for _, p := range re.Problems {
				if p.Line == c.line && p.Field == c.field && p.Code == c.code {
					return
				}
			}
			t.Fatalf("problems %+v, want line %d field %q code %s", re.Problems, c.line, c.field, c.code)
		})
	}
}

// rawFrame frames a header and detail lines with a right count and checksum.
func rawFrame(header, body string) (string, error) {
	n := strings.Count(body, "\n")
	h := strings.Split(header, "|")
	h[5] = strconv.Itoa(n)
	sum := sha256.Sum256([]byte(body))
	return strings.Join(h, "|") + "\n" + body + "T|" + strconv.Itoa(n) + "|" + hex.EncodeToString(sum[:]) + "\n", nil
}

func settlementWithout(t *testing.T) []byte {
	t.Helper()
	l := line(0, "t1", TxnPayment, 1250)
	l.OrderID = ""
	data, err := WriteSettlement(merchant, day(t, "2026-12-05"), []SettlementLine{l})
	require.NoError(t, err)
	return data
}
