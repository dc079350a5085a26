// Package deliveries is the outbox: parties (a bank, the province)
// subscribe to event types of the global log, optionally filtered by region
// and bank, and receive each matching event as a signed HTTP POST
// (docs/deliveries.md).
//
// Subscriptions are rows of PostgreSQL config tables, not events: they are
// operational settings whose delivery position moves with every call, and
// that position must commit in the same database as the dead letters;
// nothing in the card ledger's history depends on them.
//
// Delivery is one projection (Projection) hosted by a projections.Runner of
// its own, so it gets the runner's single active instance (advisory lock),
// catch-up and live following, while read-your-writes and readiness of the
// read models never wait for a slow receiver. Each Apply hands the batch's
// end position to one worker per subscription; the worker reads $all from
// the subscription's own checkpoint up to that end and, per matching event,
// calls the receiver and only then advances the checkpoint: the checkpoint
// moves exactly once per event, the HTTP call happens at least once.
// Order is kept per subscription (hence per card): an event is not sent
// before the one before it was answered 2xx or dead-lettered.
package deliveries
