package projections

import (
	"context"
	"errors"

	"github.com/cardledger/cardledger/eventstore"
)

// Projection is one consumer of the global log with its own checkpoint.
type Projection interface {
	// Name identifies the projection in locks, metrics and logs.
	Name() string
	// Checkpoint is the position of the last event Apply stored;
	// eventstore.Start for a projection that has seen nothing. It only
	// reads: status endpoints (/readyz, /metrics) and read-your-writes call
	// it on every instance, including those that do not hold the lock,
	// concurrently with each other and with the lock holder's Apply.
	Checkpoint(ctx context.Context) (eventstore.Position, error)
	// Apply stores the effects of batch (events in position order, all after
	// the checkpoint the runner last read) together with the new checkpoint,
	// atomically. It must skip events at or before its stored checkpoint, so
	// a repeated batch changes nothing, and ignore unknown event types.
	// The runner reuses batch's backing array: Apply must not keep it.
	Apply(ctx context.Context, batch []eventstore.RecordedEvent) error
}

// Recoverer is a Projection that must repair its storage or reload state
// before it applies again: one whose storage can hold effects past the
// stored checkpoint after a crash (ClickHouse has no transactions), or that
// keeps state in memory. The runner calls Recover, instead of Checkpoint,
// each time this process takes the projection's lock and before its first
// Apply; nothing else may, since only the lock holder writes.
type Recoverer interface {
	Projection
	// Recover removes what a failed or interrupted Apply left after the
	// stored checkpoint, loads what Apply needs, and returns the checkpoint.
	Recover(ctx context.Context) (eventstore.Position, error)
}

// ReadAllFunc reads the global log after a position; it is
// eventstore.Store.ReadAll.
type ReadAllFunc func(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error)

// Rebuildable projections can be rebuilt from zero into fresh storage while
// the live one keeps serving, then swapped in.
type Rebuildable interface {
	Projection
	// Shadow creates empty storage for a rebuild (dropping any left-over
	// one) and returns a projection that writes into it.
	Shadow(ctx context.Context) (Projection, error)
	// Swap replaces the live storage with shadow's in one transaction. The
	// live projection may have moved past the shadow meanwhile: Swap stops
	// live writes, brings the shadow up to the live checkpoint with readAll,
	// then swaps, so no event is lost across the switch.
	Swap(ctx context.Context, shadow Projection, readAll ReadAllFunc) error
}

var (
	// ErrUnknownProjection: no projection of that name is registered.
	ErrUnknownProjection = errors.New("unknown projection")
	// ErrNotCaughtUp: WaitFor gave up before the projection reached the position.
	ErrNotCaughtUp = errors.New("projection has not reached the position yet")
)

// Selective is a Projection that uses few of the log's events. For a live
// batch holding none it uses, the runner calls Advance instead of Apply:
// one statement moving the checkpoint instead of a transaction that locks
// it, finds nothing to write and updates it (five to seven statements).
// Nothing is written but the checkpoint, so exactly-once holds as before,
// and the checkpoint keeps moving for read-your-writes on other instances.
type Selective interface {
	Projection
	// Uses reports whether Apply could write anything for e; when unsure,
	// true. Apply must ignore every event for which Uses is false.
	Uses(e eventstore.RecordedEvent) bool
	// Advance stores to as the checkpoint unless it is already at or past
	// it.
	Advance(ctx context.Context, to eventstore.Position) error
}

// AdvanceSQL is the statement a PostgreSQL Selective projection's Advance
// runs on its checkpoint table (columns pos_commit, pos_prepare; $1, $2 the
// position): like ApplyTx, its commit does not wait for the WAL flush.
func AdvanceSQL(checkpointTable string) string {
	return `WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true))
		UPDATE ` + checkpointTable + ` SET pos_commit = $1, pos_prepare = $2 FROM no_flush_wait
		WHERE (pos_commit, pos_prepare) < ($1::bigint, $2::bigint)`
}
