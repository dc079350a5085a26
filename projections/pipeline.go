package projections

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardledger/cardledger/eventstore"
)

// A PostgreSQL projection may apply a small batch without an explicit
// transaction: it reads what it needs (its rows; its checkpoint only when it
// does not know it yet), then sends every write as one pgx batch, which
// PostgreSQL runs as one implicit transaction (all or nothing, one round
// trip, no BEGIN, SET LOCAL, checkpoint lock or COMMIT statements). The
// batch's first statement is the guard: it moves the checkpoint only if the
// row is still the one the projection read (same table, same position) and
// fails the whole batch otherwise. Every write moves the position forward,
// and a rebuild's swap puts a new checkpoint table in place, so a row that
// still matches means no other writer stored anything since: the rows read
// outside the transaction are current, and exactly-once holds as with the
// locking transaction. The guard also turns synchronous commit off for the
// batch, as ApplyTx does. Large batches (catch-up pages, rebuilds, which
// COPY) keep the locking transaction.

// PipelineMax is the largest batch a PostgreSQL projection applies as one
// guarded pgx batch; larger ones use a locking transaction (ApplyTx).
const PipelineMax = 512

// ErrCheckpointMoved: a guarded batch found the checkpoint row changed
// since the projection read it (another writer, a rebuild's swap); nothing
// was written. The projection reads its checkpoint again and retries.
var ErrCheckpointMoved = errors.New("projection checkpoint moved since it was read")

// Guard is what a projection applying guarded batches knows of its
// checkpoint row. Only the lock holder's goroutine uses it.
type Guard struct {
	Known bool
	Table int64 // the checkpoint table's oid
	Pos   eventstore.Position
	Seq   int64 // a counter kept beside the position (the read model's last blacklist seq)
}

// GuardReadSQL reads a checkpoint row for Guard: oid, position (and
// extra columns, e.g. ", last_seq").
func GuardReadSQL(table, extra string) string {
	return "SELECT tableoid::bigint, pos_commit, pos_prepare" + extra + " FROM " + table
}

// GuardSQL is the first statement of a guarded batch: it moves the
// checkpoint of table from the position in $2, $3 to the one in $4, $5 if
// the row is still in the table whose oid is $1, and divides by zero
// otherwise, failing the batch (GuardErr tells that failure). set adds
// assignments (", last_seq = $6"); settings adds set_config calls for
// the rest of the batch (", set_config('jit', 'off', true)").
func GuardSQL(table, set, settings string) string {
	return `WITH cfg AS (SELECT set_config('synchronous_commit', 'off', true)` + settings + `),
	moved AS (UPDATE ` + table + ` SET pos_commit = $4, pos_prepare = $5` + set + ` FROM cfg
		WHERE tableoid = $1::bigint::oid AND (pos_commit, pos_prepare) = ($2::bigint, $3::bigint) RETURNING 1)
	SELECT 1 / count(*)::int FROM moved`
}

// GuardArgs are GuardSQL's first five arguments.
func (g *Guard) GuardArgs(to eventstore.Position) []any {
	return []any{g.Table, int64(g.Pos.Commit), int64(g.Pos.Prepare), int64(to.Commit), int64(to.Prepare)}
}

// GuardErr is the error of a guarded batch's first statement:
// ErrCheckpointMoved when the guard failed.
func GuardErr(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "22012" { // division_by_zero: no row moved
		return ErrCheckpointMoved
	}
	if err != nil {
		return fmt.Errorf("move checkpoint: %w", err)
	}
	return nil
}

// guardedAttempts bounds the retries of one guarded Apply. Each failed
// guard means another writer stored events of the same log, so the batch's
// fresh part shrinks: writers side by side (the runner and an erasure's
// CatchUpTo) finish in a few attempts.
const guardedAttempts = 10

// Guarded runs apply, and again (after forgetting the checkpoint) when the
// guard found the row moved; any other failure also forgets it.
func Guarded(ctx context.Context, g *Guard, apply func() error) error {
	for attempt := 1; ; attempt++ {
		err := apply()
		if err == nil {
			return nil
		}
		g.Known = false
		if !errors.Is(err, ErrCheckpointMoved) || attempt == guardedAttempts || ctx.Err() != nil {
			return err
		}
	}
}
