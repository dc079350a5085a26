package reconcile

import (
	"sort"
	"time"
)

// Transaction kinds, on both sides.
const (
	TxnPayment = "payment"
	TxnRefund  = "refund"
)

// Txn is one of our transactions of a merchant's day: a payment or a
// refund of one of its orders, as the payments read model holds it.
type Txn struct {
	ID              string    // our transaction id: what the bank port was given and settles under
	Type            string    // TxnPayment or TxnRefund
	OrderID         string    // the platform's order id
	MerchantOrderNo string    // the merchant's own order number
	AmountFen       int64     // positive, in fen
	At              time.Time // when it was recorded (paid, refunded)
	BankCode        string    // the bank that moved the money
	BankRef         string    // the bank's reference, when it answered one
}

// SettlementLine is one detail line of a bank settlement file.
type SettlementLine struct {
	Line      int // 1-based line in the file (the header is line 1)
	TxnID     string
	Type      string
	AmountFen int64
	BankRef   string
}

// Mismatch kinds.
const (
	// MissingOurs: the bank settled a transaction we have no record of on that day.
	MissingOurs = "missing_ours"
	// MissingBank: we recorded a transaction the bank did not settle.
	MissingBank = "missing_bank"
	// AmountDiffers: both have it, with different amounts.
	AmountDiffers = "amount_differs"
	// TypeDiffers: both have it, one as a payment, the other as a refund.
	TypeDiffers = "type_differs"
)

// Mismatch is one difference between our transactions and the bank's.
// Our* fields are empty for MissingOurs, Bank* fields for MissingBank.
type Mismatch struct {
	Kind            string `json:"kind"`
	TxnID           string `json:"txn_id"`
	OrderID         string `json:"order_id,omitempty"`
	MerchantOrderNo string `json:"merchant_order_no,omitempty"`
	OurType         string `json:"our_type,omitempty"`
	OurAmountFen    *int64 `json:"our_amount_fen,omitempty"`
	BankType        string `json:"bank_type,omitempty"`
	BankAmountFen   *int64 `json:"bank_amount_fen,omitempty"`
	BankLine        int    `json:"bank_line,omitempty"` // the line of the settlement file
	BankRef         string `json:"bank_ref,omitempty"`
}

// Totals are one side's count and sum of a day, by kind; NetFen is
// payments minus refunds.
type Totals struct {
	Payments   int   `json:"payments"`
	PaymentFen int64 `json:"payment_fen"`
	Refunds    int   `json:"refunds"`
	RefundFen  int64 `json:"refund_fen"`
	NetFen     int64 `json:"net_fen"`
}

func (t *Totals) add(kind string, fen int64) {
	if kind == TxnRefund {
		t.Refunds++
		t.RefundFen += fen
		t.NetFen -= fen
		return
	}
	t.Payments++
	t.PaymentFen += fen
	t.NetFen += fen
}

// TotalsOf sums our transactions.
func TotalsOf(ours []Txn) Totals {
	var t Totals
	for _, x := range ours {
		t.add(x.Type, x.AmountFen)
	}
	return t
}

// Outcome is what Match finds.
type Outcome struct {
	Ours       Totals     `json:"ours"`
	Bank       Totals     `json:"bank"`
	Matched    int        `json:"matched"`
	Mismatches []Mismatch `json:"mismatches"`
}

// Match compares our transactions of a day with the bank's settlement
// lines of that day, by transaction id. Each id appears at most once on
// each side (ParseSettlement refuses a file naming one twice; our ids are
// unique). The mismatches come in transaction-id order, whatever the
// order of the inputs.
func Match(ours []Txn, bank []SettlementLine) Outcome {
	out := Outcome{Ours: TotalsOf(ours), Mismatches: []Mismatch{}}
	byID := make(map[string]Txn, len(ours))
	for _, x := range ours {
		byID[x.ID] = x
	}
	seen := make(map[string]bool, len(bank))
	for _, b := range bank {
		out.Bank.add(b.Type, b.AmountFen)
		seen[b.TxnID] = true
		bankFen := b.AmountFen
		x, ok := byID[b.TxnID]
		if !ok {
			out.Mismatches = append(out.Mismatches, Mismatch{Kind: MissingOurs, TxnID: b.TxnID, BankType: b.Type,
				BankAmountFen: &bankFen, BankLine: b.Line, BankRef: b.BankRef})
			continue
		}
		kind := ""
		switch {
		case x.Type != b.Type:
			kind = TypeDiffers
		case x.AmountFen != b.AmountFen:
			kind = AmountDiffers
		default:
			out.Matched++
			continue
		}
		ourFen := x.AmountFen
		out.Mismatches = append(out.Mismatches, Mismatch{Kind: kind, TxnID: x.ID, OrderID: x.OrderID, MerchantOrderNo: x.MerchantOrderNo,
			OurType: x.Type, OurAmountFen: &ourFen, BankType: b.Type, BankAmountFen: &bankFen, BankLine: b.Line, BankRef: b.BankRef})
	}
	for _, x := range ours {
		if seen[x.ID] {
			continue
		}
		ourFen := x.AmountFen
		out.Mismatches = append(out.Mismatches, Mismatch{Kind: MissingBank, TxnID: x.ID, OrderID: x.OrderID,
			MerchantOrderNo: x.MerchantOrderNo, OurType: x.Type, OurAmountFen: &ourFen, BankRef: x.BankRef})
	}
	sort.Slice(out.Mismatches, func(i, j int) bool { return out.Mismatches[i].TxnID < out.Mismatches[j].TxnID })
	return out
}
