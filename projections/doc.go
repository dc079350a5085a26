// Package projections turns the event store's global log into read models.
//
// A Projection consumes $all in position order and keeps a checkpoint: the
// position of the last event whose effects it stored. The Runner drives any
// number of projections (PostgreSQL read models here, the ClickHouse
// analytics projection elsewhere):
//
//   - It reads the checkpoint (a Recoverer instead repairs its storage and
//     reloads its state: Recover), catches up with large ReadAll pages,
//     then subscribes to $all for live events (the PostgreSQL store has one
//     live reader per process, shared by every subscription), and hands events to Apply in
//     batches (up to MaxBatch events, or whatever arrived within Linger; a
//     lone event only LingerIdle), so catch-up costs a few round trips per
//     batch, not per event.
//   - Only one instance of each projection is active in a deployment: the
//     runner holds a session-level PostgreSQL advisory lock per projection
//     name on a dedicated connection. Other instances wait on that lock and
//     take over when the holder's connection ends (process death closes it;
//     a dead host's session ends by the short keepalive set in lock.go, about
//     3 s). Measured handover after SIGKILL: README, "Projector handover".
//   - Apply must be atomic with its checkpoint: a PostgreSQL projection
//     writes its rows and the checkpoint in one transaction, and skips
//     events at or before the checkpoint it reads (FOR UPDATE) in that
//     transaction; or, for a live batch (pipeline.go), sends its writes as
//     one pgx batch (one implicit transaction) led by a guard that moves
//     the checkpoint only if it is still the one the projection read. A
//     crash anywhere therefore neither loses nor repeats an event, and a
//     stray second writer is harmless.
//   - Event types a projection does not know are skipped (the checkpoint
//     still moves past them). A Selective projection (batch, payments) also
//     says which events it uses: a live batch of none of them only moves its
//     checkpoint, in one statement (Advance), instead of a transaction. Known types are decoded with the schema
//     version their metadata records (domain.DecodeStoredEvent), so live
//     and rebuilt projections read old versions upcast to the current
//     shape; a version newer than the code fails the batch, never skipped.
//   - Lag (events and seconds behind the store's head) is exposed through
//     WriteMetrics (Prometheus text) and Ready; WaitFor gives read-your-writes.
//     On an instance that does not hold the lock these read the stored
//     checkpoint and write nothing: only the lock holder writes (Recover
//     included), and a projection's in-memory state is touched only by the
//     holder's goroutine.
//   - Rebuild builds every projection from position zero into fresh tables
//     and swaps them in: PostgreSQL projections (SchemaProjection) in one
//     transaction that first tops the shadow up to the live checkpoint;
//     ClickHouse analytics (ExclusiveRebuild) under the projection's lock,
//     with one RENAME of all its tables and the checkpoint, undone if it
//     fails part-way (18.16 renames table by table). It reports progress to
//     a callback (RebuildWith) and draws nothing: the command line shows it.
//
// The package holds only the runner and the contracts a projection meets
// (Projection, Recoverer, SchemaProjection, ExclusiveRebuild). Read models
// live beside it, each in its own package: projections/readmodel (the
// cardholder read model readapi serves), batch (the batch read model),
// analytics (ClickHouse).
package projections
