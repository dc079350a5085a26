package reconcile

import (
	"encoding/csv"
	"io"
	"strconv"
)

// CSVHeader is the first row of a report's CSV.
var CSVHeader = []string{"kind", "txn_id", "order_id", "merchant_order_no", "our_type", "our_amount_fen",
	"bank_type", "bank_amount_fen", "bank_line", "bank_ref"}

// WriteCSV writes the report's mismatches as CSV (RFC 4180, UTF-8, CRLF
// rows as spreadsheets expect), one row per mismatch in the report's order;
// a side's empty cells are what it lacks.
func WriteCSV(w io.Writer, r *Report) error {
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
		if err := cw.Write([]string{m.Kind, m.TxnID, m.OrderID, m.MerchantOrderNo, m.OurType, fenCell(m.OurAmountFen),
			m.BankType, fenCell(m.BankAmountFen), line, m.BankRef}); err != nil {
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
