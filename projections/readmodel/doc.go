// Package readmodel is the PostgreSQL read model of cardholders, cards,
// production steps and the blacklist with its change feed (schema
// "readmodel", projection Name "readmodel"); readapi serves it. The
// projections runner drives it: readmodel.All(pool) is what Runner.Add
// takes, Migrate creates its tables.
//
// Invariants:
//   - Everything lives in one schema with one checkpoint row, so every
//     query and the blacklist feed see the same point of the log.
//   - Apply writes the batch's rows and the checkpoint in one transaction
//     and skips events at or before the stored checkpoint, so a crash
//     neither loses nor repeats an event (the projections.SchemaProjection
//     contract).
//   - Every column is derived from events only (never now()), except
//     checkpoint.updated_at, so a rebuild from position zero reproduces the
//     live tables, blacklist seqs included: consumers of the feed keep
//     their position across a rebuild.
//   - Each commit notifies projections.NotifyChannel, waking read-your-writes
//     waiters and feed long polls in every process.
//   - The holder documents a guarded batch wrote are kept in memory and
//     used only while the guard that proved nobody else wrote is known;
//     everything that forgets the guard (a failed batch, a moved
//     checkpoint, a locking batch, Recover on taking the lock) drops them
//     (cache.go).
package readmodel
