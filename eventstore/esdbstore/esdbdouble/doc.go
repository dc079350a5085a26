// Package esdbdouble is an in-process stand-in for an EventStoreDB node,
// for tests only. It serves, over real gRPC on 127.0.0.1, the part of the
// EventStoreDB protocol that EventStore-Client-Go v4 uses for streams, so
// code under test talks to it through the real client exactly as it would
// to a server. Production code must never import it.
//
// Behaviour, and the EventStoreDB documentation it follows:
//
//   - Revisions count from 0 per stream. Appends carry an expected revision
//     (any, no_stream, stream_exists or an exact revision); a mismatch is a
//     normal AppendResp with wrong_expected_version holding the stream's
//     actual revision, not a gRPC error. ("Writing Events", section
//     "Handling concurrency", https://developers.eventstore.com/clients/dotnet/generated/v20.6.1/writing-events/;
//     "Optimistic concurrency and idempotence",
//     https://eventstore.org/docs/dotnet-api/optimistic-concurrency-and-idempotence/index.html)
//   - Idempotent writes: appending events whose ids are already the
//     stream's events right after the expected revision (or, with any,
//     wherever the first id is found) succeeds without writing them again
//     and reports the original last revision and position. (Same pages,
//     "eventId" / "Idempotence".)
//   - $all: every event has one log position; commit equals prepare, as on
//     a server without explicit transactions (EventStore issue #3989,
//     https://github.com/EventStore/EventStore/issues/3989). Positions are
//     byte-offset-like: strictly increasing in append order, not contiguous,
//     and never 0. A forwards read of $all from a position includes the
//     event at it; a backwards read excludes it. An append takes one lock,
//     so no reader ever sees part of a multi-event append.
//   - Catch-up subscriptions (stream or $all): a confirmation first, then
//     every event strictly after the start point, "caught up", then live
//     events as they are written, each exactly once. Server-side filters
//     (event type or stream, prefix or regex) are honoured and produce
//     checkpoints. ("Catch-up Subscriptions",
//     https://developers.eventstore.com/clients/dotnet/5.0/subscriptions/catchup-subscriptions.html)
//   - Deleting streams: a soft delete writes "$metadata" with "$tb" to
//     "$$stream"; reads then report stream not found, and a later append
//     continues the numbering (expected-revision checks keep using the
//     stream's last revision). A tombstone writes "$streamDeleted"; reads
//     and appends then fail with the "stream-deleted" exception.
//     ("Deleting a Stream", https://eventstore.org/docs/http-api/deleting-a-stream/,
//     and the client's DeleteStream / TombstoneStream documentation.)
//   - Append size: an append whose events add up to more than
//     MaxAppendSize bytes (Options; DefaultMaxAppendSize, 1,048,576, is the
//     server's default) is refused with InvalidArgument "Maximum Append
//     Size of N Exceeded." and the trailers exception
//     "maximum-append-size-exceeded" and maximum-append-size N, as soon as
//     the running total passes N, without reading the rest of the request
//     (so a client still sending sees EOF), and nothing is written.
//     (EventStore/EventStore, src/EventStore.Core/Services/Transport/Grpc/
//     Streams.Append.cs: "size += Event.SizeOnDisk(...); if (size >
//     _maxAppendSize) throw RpcExceptions.MaxAppendSizeExceeded"; RpcExceptions.cs
//     for the status and trailers.) What counts: KurrentDB counts each
//     event's data, metadata and twice the type's length (Event.SizeOnDisk,
//     "(data?.Length ?? 0) + (metadata?.Length ?? 0) + (eventType.Length *
//     2)"). EventStoreDB 22.x-24.x has the same method without the
//     parentheses, which C# reads as data.Length alone, so those servers
//     count only the data (reported as KurrentDB issue #4519,
//     https://github.com/kurrent-io/KurrentDB/issues/4519). The double
//     follows the KurrentDB count, the stricter one: whatever it accepts,
//     every version accepts. The v4 Go client knows no code for this
//     refusal and returns ErrorCodeUnknown (esdb/impl.go, handleError).
//   - Every event sent carries the "type", "content-type" and "created"
//     metadata; the v4 client kills the process (log.Fatalf) without
//     "created". Bounded reads answer only with events or
//     stream_not_found, since the client panics on other reply kinds.
//   - ServerFeatures.GetSupportedMethods reports version 24.10.0 and the
//     read, append, delete and tombstone methods.
//   - Server.DropSubscriptions ends every open subscription with
//     Unavailable while the server stays up, as a restart or a lost
//     connection would; the client does not resubscribe by itself (upstream
//     issue #190), so this is how a caller's resubscription is tested.
//   - Clusters (StartCluster): nodes on their own ports over one shared log,
//     one of them the leader (SetLeader moves it), each serving Gossip.Read
//     with every node's state and endpoint, which the client reads when the
//     connection string names several hosts (the v4 client's discoverNode,
//     esdb/impl.go, picks the member by state and node preference).
//     Replication is instant and loses nothing. A follower answers a request
//     carrying "requires-leader: true" as EventStoreDB does
//     (RpcExceptions.LeaderInfo): NotFound "Leader info available" with the
//     exception "not-leader" and the leader's host and port in the trailers,
//     after reading the whole request; other requests it serves, as a
//     follower forwards writes to the leader and serves reads itself. A
//     Server from Start is a one-node cluster.
//   - Faults, switchable at run time: SetUnavailable (every Streams call
//     answers Unavailable "Server Is Not Ready", RpcExceptions.ServerNotReady;
//     open subscriptions drop), LoseAppendReplies (appends are written, then
//     answered Unavailable: a leader lost after replicating, or a commit
//     timeout), Options.NoIdempotence (a resent append is answered wrong
//     expected version), Stop and Restart (the same port and log, as a node
//     restarting from its disk). Faults counts what a node answered so.
//
// Deliberately not implemented: BatchAppend (the client uses it only on
// request), persistent subscriptions, projections, users/ACLs and
// authentication, stream metadata beyond soft delete ($maxAge, $maxCount,
// reading "$$" streams as metadata), link resolution, explicit
// transactions, elections, replication lag and the truncation of writes a
// deposed leader did not replicate, read-only replicas, TLS, scavenging and
// persistence: the log lives in memory, keeps across Stop and Restart, and
// dies with the process.
package esdbdouble
