// Package banksim plays the holders' banks behind the payment bank port
// (payments.Bank), over HTTP, as batch/simulate plays them for the batch
// files: `cardledger simulate payment-bank --listen ADDR` serves it, and
// the server uses it in process when CARDLEDGER_PAYMENT_BANK_URL is unset.
//
// Answers are a pure function of the request and the seed, so the
// simulator keeps no state and a repeated call (after a crash, a timeout)
// gets the same answer and reference: the idempotency a real bank gives
// by order id and refund number.
//
//	POST /payments {"bank_code","card_no","order_id","merchant_id","amount_fen"}
//	POST /refunds  {"bank_code","order_id","refund_no","bank_txn_id","amount_fen"}
//	→ 200 {"status":"approved","reference":"SIM…"} | {"status":"declined","reason":"…"}
//	→ 400 a malformed request
//
// A payment whose amount ends in 44 fen is declined (insufficient_funds),
// so tests and demos can plan a decline; FailRate declines a further share
// (card_declined), chosen by a hash of the seed and the order id.
package banksim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
)

// Options tune the simulated banks.
type Options struct {
	FailRate float64 // share of payments declined, 0..1
	Seed     int64
}

// DeclinedFen: a payment whose amount_fen ends in these two digits is declined.
const DeclinedFen = 44

type payment struct {
	BankCode   string `json:"bank_code"`
	CardNo     string `json:"card_no"`
	OrderID    string `json:"order_id"`
	MerchantID string `json:"merchant_id"`
	AmountFen  int64  `json:"amount_fen"`
}

type refund struct {
	BankCode  string `json:"bank_code"`
	OrderID   string `json:"order_id"`
	RefundNo  string `json:"refund_no"`
	BankTxnID string `json:"bank_txn_id"`
	AmountFen int64  `json:"amount_fen"`
}

type answer struct {
	Status    string `json:"status"`
	Reference string `json:"reference,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Handler serves the simulated banks.
func Handler(o Options) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /payments", func(w http.ResponseWriter, r *http.Request) {
		var p payment
		if !read(w, r, &p) {
			return
		}
		if p.BankCode == "" || p.CardNo == "" || p.OrderID == "" || p.AmountFen < 1 {
			http.Error(w, "bank_code, card_no, order_id and a positive amount_fen are required", http.StatusBadRequest)
			return
		}
		h := digest(o.Seed, "pay", p.OrderID)
		switch {
		case p.AmountFen%100 == DeclinedFen:
			write(w, answer{Status: "declined", Reason: "insufficient_funds"})
		case float64(binary.BigEndian.Uint64(h[:8]))/float64(^uint64(0)) < o.FailRate:
			write(w, answer{Status: "declined", Reason: "card_declined"})
		default:
			write(w, answer{Status: "approved", Reference: "SIM" + p.BankCode + strings.ToUpper(hex.EncodeToString(h[8:18]))})
		}
	})
	mux.HandleFunc("POST /refunds", func(w http.ResponseWriter, r *http.Request) {
		var f refund
		if !read(w, r, &f) {
			return
		}
		if f.BankCode == "" || f.OrderID == "" || f.RefundNo == "" || f.BankTxnID == "" || f.AmountFen < 1 {
			http.Error(w, "bank_code, order_id, refund_no, bank_txn_id and a positive amount_fen are required", http.StatusBadRequest)
			return
		}
		h := digest(o.Seed, "refund", f.OrderID+"\x00"+f.RefundNo)
		write(w, answer{Status: "approved", Reference: "SIMR" + f.BankCode + strings.ToUpper(hex.EncodeToString(h[:10]))})
	})
	return mux
}

func read(w http.ResponseWriter, r *http.Request, v any) bool {
	d := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		http.Error(w, "malformed JSON: "+err.Error(), http.StatusBadRequest)
		return false
	}
	return true
}

func write(w http.ResponseWriter, a answer) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(a)
}

func digest(seed int64, kind, key string) [32]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	return sha256.Sum256(append(append(b[:], kind+"\x00"...), key...))
}
