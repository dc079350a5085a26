package reconcile

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// CSVHeader is the first row of a report's CSV.
var CSVHeader = []string{"kind", "bank_code", "bank_txn_id", "order_id", "merchant_order_no", "refund_no",
	"our_type", "our_amount_fen", "bank_type", "bank_amount_fen", "bank_line"}

// WriteCSV writes the report's mismatches as CSV (RFC 4180, UTF-8, CRLF
// rows as spreadsheets expect), one row per mismatch in the report's order;
// a side's empty cells are what it lacks. A text cell that a spreadsheet
// would run as a formula (starting with = + - @, tab or CR: merchant order
// numbers and bank references come from outside) is written with a leading
// apostrophe.
func WriteCSV(w io.Writer, r *DayReport) error {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, m := range r.Mismatches {
		line := ""
		if m.BankLine > 0 {
			line = strconv.Itoa(m.BankLine)
		}
		if err := cw.Write([]string{m.Kind, text(m.BankCode), text(m.BankTxnID), text(m.OrderID), text(m.MerchantOrderNo),
			text(m.RefundNo), m.OurType, fenCell(m.OurAmountFen), m.BankType, fenCell(m.BankAmountFen), line}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

func fenCell(v *int64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatInt(*v, 10)
}

func text(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}
