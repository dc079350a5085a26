// Package seed fills a cardledger with made-up data, for demos, tests and
// benchmarks. It is a developer tool (see internal/devtools): production
// packages never import it.
//
// Run fills a fresh cardledger with a demo city (`cardledger seed`, used by
// `make run`): people registered with valid ID numbers, cards issued at bank
// counters, e-cards, losses, replacements and cancellations spread over the
// simulated months, and card usage with realistic cross-region patterns.
//
// Run puts everything through the real application layer: the command service
// (the same handlers the HTTP API calls) and the usage ingester (the handler
// of POST /v1/usage). Lifecycle events carry their simulated dates because
// the service's clock is the seeder's Clock, which it moves day by day.
//
// Invariants: the same Options and RandSeed give the same city; usage of a
// card only falls inside the time it was valid (issued, not lost or
// cancelled), and never in the future.
//
// History, by contrast, creates synthetic lifecycles without the command
// handlers: each person is one command of the write pipeline
// (commands.Pipeline.CreateMany, hundreds of new streams per commit)
// whose events are given rather than decided, a second apart from the
// person's simulated time (Born); ids, metadata, sealing and hash chain
// are those of every other write. So benchmarks can set up a million
// events quickly. BlacklistRows writes listed cards straight into the
// blacklist read model for lookup and feed benchmarks.
package seed
