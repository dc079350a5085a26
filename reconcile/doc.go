// Package reconcile is merchant reconciliation (商户对账) of the open
// platform's e-card payments: the daily file the platform writes for each
// merchant, the import of the bank's settlement file, and the mismatch
// report between the two. docs/platform.md ("Reconciliation") is the
// contract for integrators and banks.
//
// Invariants:
//   - Both files use the framing of the batch exchange files
//     (batch/files.Layout) with their own format tag CLR1: header, one
//     detail line per transaction, trailer with the line count and the
//     SHA-256 of the detail lines.
//   - A day is a calendar day in Beijing time (UTC+8), like the platform's
//     quota days; a transaction belongs to the day it happened.
//   - The daily file is a function of the merchant's transactions of the
//     day: asking again gives the same bytes (unless a transaction of that
//     day was recorded since).
//   - A settlement file is checked whole (framing, then every field, by line
//     and field) before anything is recorded; a refused file records
//     nothing. An accepted file is stored verbatim with its report in one
//     row, so there is never a file without its report.
//   - Re-running a day changes nothing: the same file again answers the
//     stored report (nothing appended, nothing recomputed); another file
//     for a day already reconciled is refused (409
//     settlement_file_different).
//   - The matching (Match) is a pure function of our transactions and the
//     bank's lines; the report lists every mismatch in transaction-id order.
//   - What reconciliation reads of the payments (merchants, their
//     transactions of a day) comes through one port, Orders.
package reconcile
