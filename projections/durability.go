package projections

import "github.com/jackc/pgx/v5"

// ApplyTx is how a PostgreSQL projection begins the transaction that
// stores a batch with its checkpoint: its commit does not wait for the WAL
// to reach the disk (synchronous_commit off for that transaction only).
//
// That is safe because a projection is derived: rows and checkpoint still
// commit together or not at all, so exactly-once holds, and a database
// crash can only lose the last few hundred milliseconds of projection
// commits as a whole (WAL is replayed in order), after which the runner
// applies those events again from the durable event log, numbering the
// blacklist changes on from the durable checkpoint. The event store's
// appends and the idempotency records stay durable. What it saves is one
// WAL flush wait per batch and projection, which with every command
// applied by three PostgreSQL projections was most of the commits a
// command cost (see README, Performance). A process killed with kill -9
// loses nothing: the commit is done in PostgreSQL, only its flush lags.
var ApplyTx = pgx.TxOptions{BeginQuery: "BEGIN; SET LOCAL synchronous_commit = off"}
