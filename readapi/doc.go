// Package readapi serves the PostgreSQL read model built by
// readmodel.Model: cardholders, cards, production progress, holdings
// by employer and community, statistics, and the blacklist (lookup, change
// feed, snapshot).
//
// Invariants:
//   - Every read endpoint accepts min_position=<position from a command
//     response> and answers only once the read model has stored that
//     position, waiting up to MaxWait (5 s); otherwise 503 with code
//     "projection_behind". Without it reads are eventually consistent.
//   - With a read replica (WithReplica) every query reads the replica, and
//     "stored that position" means the replica's own copy of the read
//     model's checkpoint has it: the primary's having it is not enough.
//     Nothing here writes, so nothing needs the primary.
//   - Blacklist change seqs are assigned by the single active projection
//     instance, in log order, inside the transaction that stores the
//     checkpoint; a transaction commits before the next one can take the
//     checkpoint lock. So a seq is never visible before every smaller one:
//     a consumer paging with after= never misses or reorders a change.
//   - The snapshot is read in one REPEATABLE READ transaction: its entries
//     are exactly the blacklist after change seq.
//   - The blacklist-consumer role may call the blacklist routes and nothing
//     else.
package readapi
