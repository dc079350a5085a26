// Package bench holds the benchmarks whose figures the README quotes, each
// beside its comparison run from the same database in the same run:
// commands over HTTP against a running server as its clients send them
// (HTTP: set-up through the API, the timed load, loss → blacklist feed),
// in-process loss and unlock commands (LossUnlock), a read-model rebuild against a raw COPY
// (Rebuild), and the analytics loads and queries (LoadUsage, Queries,
// CompareInsert). `cardledger bench` and the packages' Go benchmarks drive
// them; scripts/bench.sh runs them all. A developer tool: production
// packages never import it.
package bench
