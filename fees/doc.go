// Package fees is the replacement fee's way through the non-tax POS
// (非税收入 POS, docs/fees.md): the counter sends the fee's payment notice
// to the POS gateway (a port, NoticeSender; HTTPPOS speaks HTTP with
// retries), the gateway reports the payment back (POST /v1/fees/payments,
// role pos), which becomes record_fee_payment on the holder's stream
// through the one write pipeline, and the daily fee report lists the fees
// of a day as JSON or CSV.
//
// The domain decides (domain/fee.go): what a replacement costs, which
// exemption applies, that an unpaid fee holds production. This package
// only carries messages.
//
// Invariant: a POS payment id is recorded at most once, whichever holder
// or application it names. The id is reserved in fee_payments before the
// append (a reservation naming another application is refused,
// payment_id_reused) and the command id derives from it, so a report sent
// twice, or retried after a crash between the reservation and the append,
// appends once.
package fees
