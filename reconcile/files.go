package reconcile

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cardledger/cardledger/batch/files"
)

// Magic is the format tag of the reconciliation files (version 1).
const Magic = "CLR1"

// File kinds (the header's third field).
const (
	KindMerchantDaily  = "merchant_daily"  // the platform's daily file of a merchant
	KindBankSettlement = "bank_settlement" // the bank's settlement file of a merchant's day
)

// Columns lists, per kind, the detail fields after "D|seq".
var Columns = map[string][]string{
	KindMerchantDaily:  {"bank_code", "bank_txn_id", "txn_type", "order_id", "merchant_order_no", "refund_no", "amount_fen", "occurred_at"},
	KindBankSettlement: {"bank_code", "bank_txn_id", "txn_type", "order_id", "amount_fen"},
}

// Layout is the framing of the reconciliation files.
var Layout = files.Layout{Magic: Magic, Columns: func(kind string) ([]string, bool) {
	cols, ok := Columns[kind]
	return cols, ok
}}

// Beijing is the zone of reconciliation days.
var Beijing = time.FixedZone("CST", 8*3600)

// DateLayout is how a day is written: in the header, the routes, the CLI.
const DateLayout = "2006-01-02"

// Day is a calendar day in Beijing time.
type Day struct{ start time.Time }

// ParseDay reads YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.ParseInLocation(DateLayout, s, Beijing)
	if err != nil {
		return Day{}, fmt.Errorf("day %q is not a date YYYY-MM-DD", s)
	}
	return Day{start: t}, nil
}

// DayOf is the Beijing day of t.
func DayOf(t time.Time) Day {
	b := t.In(Beijing)
	return Day{start: time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, Beijing)}
}

func (d Day) String() string { return d.start.Format(DateLayout) }

// Bounds are the day's first instant and the next day's.
func (d Day) Bounds() (from, to time.Time) { return d.start, d.start.AddDate(0, 0, 1) }

// MaxAmountFen bounds an amount in a settlement line (15 digits: well over
// any single card payment, far under int64's range for the day's sums).
const MaxAmountFen int64 = 999_999_999_999_999

// Bounds of a settlement line's bank code and bank reference.
const (
	MaxBankCodeLength  = 16
	MaxBankTxnIDLength = 64
	MaxOrderIDLength   = 64
)

// WriteDaily writes the daily file of merchant for day: one line per
// transaction, in the order they happened (then by bank and reference), so
// the same transactions give the same bytes.
func WriteDaily(merchant string, day Day, txns []Txn) ([]byte, error) {
	sorted := append([]Txn(nil), txns...)
	sort.SliceStable(sorted, func(i, j int) bool {
		if !sorted[i].At.Equal(sorted[j].At) {
			return sorted[i].At.Before(sorted[j].At)
		}
		return key(sorted[i].BankCode, sorted[i].BankTxnID) < key(sorted[j].BankCode, sorted[j].BankTxnID)
	})
	f := files.Frame{Kind: KindMerchantDaily, ID: merchant, Date: day.String()}
	for _, x := range sorted {
		f.Records = append(f.Records, []string{x.BankCode, x.BankTxnID, x.Type, x.OrderID, x.MerchantOrderNo, x.RefundNo,
			strconv.FormatInt(x.AmountFen, 10), x.At.In(Beijing).Format(time.RFC3339)})
	}
	return Layout.Encode(&f)
}

// Settlement is a parsed, checked bank settlement file.
type Settlement struct {
	Merchant string
	Day      Day
	Lines    []SettlementLine
	SHA256   string // of the whole file
}

// Codes of a settlement file's problems (errors[].code), besides the
// framing's (batch/files: bad_header, bad_line, bad_sequence,
// bad_line_count, bad_checksum, bad_trailer, bad_encoding).
const (
	CodeWrongKind     = "settlement_wrong_kind"
	CodeWrongMerchant = "settlement_wrong_merchant"
	CodeBadDate       = "settlement_bad_date"
	CodeBadBankCode   = "settlement_bad_bank_code"
	CodeBadTxnID      = "settlement_bad_txn_id"
	CodeBadOrderID    = "settlement_bad_order_id"
	CodeBadTxnType    = "settlement_bad_txn_type"
	CodeBadAmount     = "settlement_bad_amount"
	CodeDuplicateTxn  = "settlement_duplicate_txn"
)

// Problem is one thing wrong with a settlement file: its line (0: the
// file as a whole), field ("" for the line as a whole), code and message.
type Problem struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Where is the problem's place as errors[].field says it: "line 3" or
// "line 3: amount_fen".
func (p Problem) Where() string {
	if p.Field == "" {
		return fmt.Sprintf("line %d", p.Line)
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Field)
}

// RejectedError is a settlement file refused whole; nothing of it is used.
type RejectedError struct{ Problems []Problem }

func (e *RejectedError) Error() string {
	if len(e.Problems) == 0 {
		return "settlement file rejected"
	}
	p := e.Problems[0]
	more := ""
	if len(e.Problems) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(e.Problems)-1)
	}
	return fmt.Sprintf("settlement file rejected: %s: %s: %s%s", p.Where(), p.Code, p.Message, more)
}

// ErrRejected matches every *RejectedError (errors.Is).
var ErrRejected = errors.New("settlement file rejected")

func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// maxProblems bounds the problems listed for one file.
const maxProblems = 100

// ParseSettlement reads a bank settlement file for merchant and checks it
// whole: the framing, then that it is a settlement of this merchant for a
// valid day, then every line's fields, and that no transaction appears
// twice. Every problem is listed (up to 100) in a *RejectedError.
func ParseSettlement(data []byte, merchant string) (*Settlement, error) {
	// Another kind's lines have other columns: say what the file is rather
	// than how each of its lines breaks the settlement's.
	if h := strings.Split(strings.SplitN(string(data), "\n", 2)[0], "|"); len(h) == 6 && h[0] == "H" && h[1] == Magic && h[2] != KindBankSettlement {
		return nil, &RejectedError{Problems: []Problem{{Line: 1, Field: "kind", Code: CodeWrongKind,
			Message: fmt.Sprintf("%q is not a %s file", h[2], KindBankSettlement)}}}
	}
	fr, err := Layout.Parse(data)
	var fe *files.FormatError
	if errors.As(err, &fe) {
		out := &RejectedError{}
		for _, p := range fe.Problems {
			out.Problems = append(out.Problems, Problem{Line: p.Line, Code: p.Code, Message: p.Message})
		}
		return nil, out
	}
	if err != nil {
		return nil, err
	}
	var probs []Problem
	add := func(line int, field, code, format string, args ...any) {
		if len(probs) < maxProblems {
			probs = append(probs, Problem{Line: line, Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
		}
	}
	if fr.ID != merchant {
		add(1, "merchant", CodeWrongMerchant, "the file is for merchant %q, not %q", fr.ID, merchant)
	}
	day, err := ParseDay(fr.Date)
	if err != nil {
		add(1, "date", CodeBadDate, "%s", err.Error())
	}
	s := &Settlement{Merchant: fr.ID, Day: day, SHA256: fr.SHA256}
	first := map[string]int{}
	for i, rec := range fr.Records {
		n := i + 2
		l := SettlementLine{Line: n, BankCode: rec[0], BankTxnID: rec[1], Type: rec[2], OrderID: rec[3]}
		if msg := textRule(l.BankCode, MaxBankCodeLength, true); msg != "" {
			add(n, "bank_code", CodeBadBankCode, "%s", msg)
		}
		if msg := textRule(l.BankTxnID, MaxBankTxnIDLength, true); msg != "" {
			add(n, "bank_txn_id", CodeBadTxnID, "%s", msg)
		} else if at := first[key(l.BankCode, l.BankTxnID)]; at != 0 {
			add(n, "bank_txn_id", CodeDuplicateTxn, "%s %s is on line %d already", l.BankCode, l.BankTxnID, at)
		} else {
			first[key(l.BankCode, l.BankTxnID)] = n
		}
		if l.Type != TxnPayment && l.Type != TxnRefund {
			add(n, "txn_type", CodeBadTxnType, "%q is not %s or %s", l.Type, TxnPayment, TxnRefund)
		}
		if msg := textRule(l.OrderID, MaxOrderIDLength, false); msg != "" {
			add(n, "order_id", CodeBadOrderID, "%s", msg)
		}
		fen, err := parseFen(rec[4])
		if err != nil {
			add(n, "amount_fen", CodeBadAmount, "%s", err.Error())
		}
		l.AmountFen = fen
		s.Lines = append(s.Lines, l)
	}
	if len(probs) > 0 {
		return nil, &RejectedError{Problems: probs}
	}
	return s, nil
}

// textRule checks an identifier of a line: printable, no spaces, at most
// max characters, present when required. "" when it is right.
func textRule(v string, max int, required bool) string {
	switch {
	case v == "" && required:
		return "empty"
	case utf8.RuneCountInString(v) > max:
		return fmt.Sprintf("longer than %d characters", max)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Sprintf("%q holds a space or an unprintable character", v)
		}
	}
	return ""
}

// parseFen reads a positive whole number of fen written in digits only: no
// sign, no decimal point, no leading zero, at most MaxAmountFen.
func parseFen(s string) (int64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not a whole number of fen (digits only)", s)
		}
	}
	if s[0] == '0' {
		return 0, fmt.Errorf("%q: an amount is at least 1 fen, without leading zeros", s)
	}
	if len(s) > len(strconv.FormatInt(MaxAmountFen, 10)) {
		return 0, fmt.Errorf("%q is over %d fen", s, MaxAmountFen)
	}
	return strconv.ParseInt(s, 10, 64)
}

// WriteSettlement writes a bank settlement file; the bank simulator and
// tests use it.
func WriteSettlement(merchant string, day Day, lines []SettlementLine) ([]byte, error) {
	f := files.Frame{Kind: KindBankSettlement, ID: merchant, Date: day.String()}
	for _, l := range lines {
		f.Records = append(f.Records, []string{l.BankCode, l.BankTxnID, l.Type, l.OrderID, strconv.FormatInt(l.AmountFen, 10)})
	}
	return Layout.Encode(&f)
}
