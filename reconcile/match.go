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
// refund of one of its orders, as the payments read model holds it. Both
// sides know a transaction by the bank that moved the money and that
// bank's reference of it (BankCode, BankTxnID): the key of the matching.
type Txn struct {
	BankCode        string    // the bank of the holder's card
	BankTxnID       string    // the bank's reference: of the debit, or of the refund
	Type            string    // TxnPayment or TxnRefund
	OrderID         string    // the platform's order id
	MerchantOrderNo string    // the merchant's own order number
	RefundNo        string    // the merchant's refund number (refunds)
	AmountFen       int64     // positive, in fen
	At              time.Time // when it was recorded (paid, refunded)
}

// SettlementLine is one detail line of a bank settlement file.
type SettlementLine struct {
	Line      int // 1-based line in the file (the header is line 1)
	BankCode  string
	BankTxnID string
	Type      string
	OrderID   string // the platform's order id, as the bank was given it ("" when it has none)
	AmountFen int64
}

// key is what a transaction is known by on both sides.
func key(bankCode, bankTxnID string) string { return bankCode + "\x00" + bankTxnID }

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
// OrderID is ours, or the bank's when only the bank has the transaction.
type Mismatch struct {
	Kind            string `json:"kind"`
	BankCode        string `json:"bank_code"`
	BankTxnID       string `json:"bank_txn_id"`
	OrderID         string `json:"order_id,omitempty"`
	MerchantOrderNo string `json:"merchant_order_no,omitempty"`
	RefundNo        string `json:"refund_no,omitempty"`
	OurType         string `json:"our_type,omitempty"`
	OurAmountFen    *int64 `json:"our_amount_fen,omitempty"`
	BankType        string `json:"bank_type,omitempty"`
	BankAmountFen   *int64 `json:"bank_amount_fen,omitempty"`
	BankLine        int    `json:"bank_line,omitempty"` // the line of the settlement file
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
// lines of that day, by bank and bank reference. Each appears at most once
// on each side (ParseSettlement refuses a file naming one twice; a bank's
// references are unique). The mismatches come in (bank code, bank
// reference) order, whatever the order of the inputs.
func Match(ours []Txn, bank []SettlementLine) Outcome {
	out := Outcome{Ours: TotalsOf(ours), Mismatches: []Mismatch{}}
	byKey := make(map[string]Txn, len(ours))
	for _, x := range ours {
		byKey[key(x.BankCode, x.BankTxnID)] = x
	}
	seen := make(map[string]bool, len(bank))
	for _, b := range bank {
		out.Bank.add(b.Type, b.AmountFen)
		k := key(b.BankCode, b.BankTxnID)
		seen[k] = true
		bankFen := b.AmountFen
		x, ok := byKey[k]
		if !ok {
			out.Mismatches = append(out.Mismatches, Mismatch{Kind: MissingOurs, BankCode: b.BankCode, BankTxnID: b.BankTxnID,
				OrderID: b.OrderID, BankType: b.Type, BankAmountFen: &bankFen, BankLine: b.Line})
			continue
		}
		m := ourSide(x)
		switch {
		case x.Type != b.Type:
			m.Kind = TypeDiffers
		case x.AmountFen != b.AmountFen:
			m.Kind = AmountDiffers
		default:
			out.Matched++
			continue
		}
		m.BankType, m.BankAmountFen, m.BankLine = b.Type, &bankFen, b.Line
		out.Mismatches = append(out.Mismatches, m)
	}
	for _, x := range ours {
		if !seen[key(x.BankCode, x.BankTxnID)] {
			m := ourSide(x)
			m.Kind = MissingBank
			out.Mismatches = append(out.Mismatches, m)
		}
	}
	sort.Slice(out.Mismatches, func(i, j int) bool {
		a, b := out.Mismatches[i], out.Mismatches[j]
		return key(a.BankCode, a.BankTxnID) < key(b.BankCode, b.BankTxnID)
	})
	return out
}

// ourSide is a mismatch with our side of x filled in.
func ourSide(x Txn) Mismatch {
	fen := x.AmountFen
	return Mismatch{BankCode: x.BankCode, BankTxnID: x.BankTxnID, OrderID: x.OrderID, MerchantOrderNo: x.MerchantOrderNo,
		RefundNo: x.RefundNo, OurType: x.Type, OurAmountFen: &fen}
}
