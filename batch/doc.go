// Package batch is the application layer of batch production (批量制卡):
// bulk application imports, the batch workflow with its exchange files, the
// process manager that carries each return file's per-person outcomes to
// the cardholder streams, and PSAM stock.
//
// Invariants:
//   - Every write goes through a pure decision (domain.Decide,
//     domain.DecideBatch, domain.DecidePSAM) and the one write pipeline
//     (commands.Pipeline): one append at the revision the decision saw,
//     decided again when another writer moved the stream. Imported people
//     start their streams through the same pipeline (Create, or CreateMany
//     for a chunk of rows in one commit).
//   - Every event id is derived from what caused it (the import row, the
//     batch command, the job item), so any step may be retried or resumed
//     after a crash without writing anything twice.
//   - A return file is parsed and checked whole before anything is
//     appended; a rejected file leaves the store as it was.
//   - A return file is checked with the field rules of the cardholder
//     commands its job will decide (the same domain functions), so a line
//     the domain would refuse rejects the file instead of failing later.
//   - A job item reaches its cardholder stream exactly once: the process
//     manager records progress in the batch stream, and an item re-applied
//     after a crash or a retry finds its own events (same command id) and
//     is skipped.
//   - No person is left in no state: an item their stream refuses is
//     recorded against them (code, reason), counted as failed, retryable,
//     and released from the batch when it moves on. Counts come from the
//     recorded progress, never from what the file said.
//   - Over HTTP, long work answers 202 with a job resource and runs in the
//     background: jobs in the single active job worker of `serve` (which
//     resumes unfinished jobs at start), imports in the accepting process.
//   - A region-bound client (a county counter or auditor) creates batches
//     only with a filter region inside its region, and lists, reads and
//     acts on only such batches (403 scope_region otherwise); a batch
//     without a filter region spans the city and is for unscoped clients.
//     Application imports, return files and PSAM stock are not
//     region-scoped.
package batch
