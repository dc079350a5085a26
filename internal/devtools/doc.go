// Package devtools is the one home of the developer tools: seeders
// (devtools/seed), benchmarks (devtools/bench) and load generators
// (devtools/loadgen). They make up data or load and are driven by
// `cardledger seed`, `cardledger bench`, Go benchmarks and tests.
//
// Production packages never import them (the guard test edges_test.go here
// checks it), so nothing here can leak into a request path; in turn a tool
// only uses the exported API of the packages it drives, and where it must
// reach further the package exports a small named API for it (for example
// analytics.UsageBlock).
package devtools
