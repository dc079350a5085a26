// Package esdbstore is the EventStoreDB adapter of eventstore.Store, built on
// github.com/EventStore/EventStore-Client-Go/v4. Every import of that client
// stays in this package, so a move to its successor (KurrentDB-Client-Go) is
// a rename here and nowhere else.
//
// Invariants, on top of those of eventstore.Store:
//   - Stream revisions are EventStoreDB's own (from 0); the mapping of
//     eventstore.ExpectedRevision to the client's types is expectedRevision.
//   - A Position is the $all commit and prepare position of an event.
//   - ReadAll, SubscribeAll and Head see only application events: events
//     whose type starts with "$" (system events, tombstones, stream
//     metadata) are skipped. ReadAll and SubscribeAll start strictly after
//     the given position; Start means the beginning, which subscriptions
//     must request explicitly because the client defaults them to the end.
//   - SubscribeAll survives dropped subscriptions, outages and leader
//     changes (the client does not reconnect reads by itself): it
//     resubscribes, with backoff, from the last event it delivered, never
//     from the end, so every event is handled once and in order.
//   - Unavailability and leader changes (link.go, retry.go): one link owns
//     the client. Every call runs through retry, which repeats it with
//     backoff while the server is down, not ready, not the leader or timed
//     out, for at most defaultRetryFor (10 s) and never past the caller's
//     context; then the error wraps eventstore.ErrUnavailable (503
//     dependency_unavailable). The v4 client closes itself for good when a
//     discovery fails, and never notices a read that cannot reach its node,
//     so the link replaces it then; a suspect client takes one call at a
//     time, because calls waiting on a discovery that fails never return
//     (their callers do: each call runs in its own goroutine). Every request
//     carries requires-leader when the connection string prefers the leader
//     (the default; the v4 client means to send it but does not), so a node
//     that lost the leadership answers "not leader" with the new leader's
//     endpoint, the client moves there and the call is repeated at once.
//   - A retried append resends the same events (same ids) at the same exact
//     revision, so EventStoreDB recognises a resend whose first send landed
//     and answers success; if it answers a conflict instead, Append finds
//     its events in place and reports success too. An append lands once
//     however many answers were lost.
//   - Events are written with content type application/json.
//   - Every appended event is chained (eventstore/chain) to the stream's
//     previous event; its hash travels in the stored metadata, in the
//     envelope chain.EncodeMetadata describes, and reads unwrap it, so
//     callers see their metadata unchanged and the hash in Hash. Append
//     reads the event it chains to first and then sends an exact expected
//     revision (or no stream), so a concurrent append makes it fail rather
//     than fork the chain; Any and StreamExists appends rerun on the new
//     state. Such appends recognise a retry while its events are still the
//     stream's last ones (the port's promise); the server's own id cache
//     no longer matters because the server always gets an exact revision.
//   - AppendResult.Retried is set when the read before the send finds the
//     events in place (Exact, Any, StreamExists); a NoStream append reads
//     nothing first and the server answers its retry as a success, so it
//     is reported as written (ReportsRetry false), as is a retry whose
//     first copy lands between the read and the send.
//   - An append over eventstore.MaxAppendSize (the server's default
//     MaxAppendSize) is refused before anything is sent: the server refuses
//     it as soon as its running total passes the limit, and a client still
//     sending then reports nothing but EOF (ErrorCodeUnknown). The port
//     counts at least what the server does (eventstore.EventOverhead covers
//     the chain envelope; metadata that is not JSON is stored base64 and is
//     checked as sent). A server configured with a lower limit can still
//     refuse; when its status arrives ("Maximum Append Size of N
//     Exceeded.", InvalidArgument) the error is an
//     *eventstore.AppendTooLargeError with Max N, otherwise it is the
//     client's unknown error.
//
// Tests run against esdbdouble, an in-process server on the same gRPC
// protocol, and against a real server when CARDLEDGER_TEST_ESDB_URL is set.
package esdbstore
