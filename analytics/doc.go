// Package analytics is the city's card-usage analytics: usage ingest into the
// event store, a projection of usage and card lifecycle facts into
// ClickHouse, the analyses over them, and the dashboard.
//
// Flow: POST /v1/usage → Ingester → usage streams in the event store
// (usage-<card_no>-<yyyymm>, never loaded by command handling) → Projection
// (run by a projections.Runner with RunnerOptions) → ClickHouse tables
// usage_facts and card_events → Queries → /v1/analytics/... and /dashboard.
//
// Invariants:
//   - A usage record is stored at most once: its event id derives from the
//     sender's record id, and the ingester appends to a usage stream only the
//     ids the stream does not hold yet, at the stream's exact revision.
//   - Exactly one fact row per event in query results, across crashes,
//     without FINAL. Every fact row carries its event's position. The
//     checkpoint (projection_checkpoints) is written after a batch's rows; a
//     batch that fails or is cut short by a crash leaves rows after the
//     checkpoint, and before the projection writes again (Recover, run by
//     the instance that takes the projection's lock, or the next Apply after
//     a failure) it deletes every fact row after the checkpoint (ALTER ...
//     DELETE, waited for). Rows at or before the checkpoint are therefore
//     exactly the projected events, once each. Only the lock holder may do
//     this: elsewhere, rows after the checkpoint are the holder's batch in
//     flight, so Checkpoint (status endpoints, read-your-writes) only reads.
//   - Why not FINAL/argMax in the queries: FINAL merges at read time and is
//     single-threaded per partition on 18.16; on 10M rows it costs seconds
//     per analysis, against a target of under one second. uniqExact-style
//     dedupe would fix counts but not sums. The cleanup costs a mutation only
//     after a failure. The fact tables are still ReplacingMergeTree keyed by
//     (…, event_id), as a second line of defence: should a duplicate slip
//     through (an INSERT the server commits after the client timed out and
//     the cleanup ran), background merges of its partition remove it.
//   - The dimension tables holders and cards keep one row per key and
//     version (stream revision); readers take argMax(…, version) (they are
//     small). The projection keeps them, and the set of blacklisted cards,
//     in memory too, and reloads them from ClickHouse in Recover.
//   - A usage fact's home_city is the card's home city (prefecture of the
//     holder's registration region, of the region they transferred out to,
//     or of the region a card transferred in made theirs again) when the
//     event was projected; the card is always known by then, because the
//     ingester refuses usage of unknown cards and a card number is bound to
//     its holder in the holder's stream before any usage: CardNumberAssigned
//     for a card made here, CardTransferredIn for one of another city
//     (地市卡转移), LegacyCardRecorded for a migrated first-generation card.
//   - card_events holds one lifecycle fact per counted cardholder event:
//     registered, applied (detail: kind), produced, issued, activated,
//     lost, temporarily_lost, unlocked, cancelled (detail: cause),
//     restored, transferred_out (detail: region it left for),
//     transferred_in (detail: region it came from), migrated, ecard_issued,
//     ecard_revoked (detail: cause), corrected (detail: field). A migration
//     appends CardholderMigrated, CardholderRegistered and
//     LegacyCardRecorded together; it counts as registered (the holder) and
//     migrated (LegacyCardRecorded, with the legacy card and its generation
//     as detail), one each per person; CardholderMigrated names only the
//     source file and is not counted. A legacy card recorded lost,
//     temporarily lost or cancelled enters the blacklist on the migration
//     day (not on its old issue date: this system refuses it from then
//     on), and counts as blacklist_added but not as lost or cancelled,
//     which count reports made here. blacklist_delta counts a card's entry
//     and exit once each, however it got there (lost then cancelled, a
//     legacy loss made formal, …); a card transferred in is issued or
//     active, so it is off the blacklist.
//   - `cardledger projections rebuild clickhouse-analytics` refills copies
//     of all five tables (suffix _rebuild, checkpoint included) from the log
//     through the same Apply, then renames them over the live tables in one
//     RENAME TABLE, under the projection's single-active lock, so live
//     applies pause for the rebuild while queries keep reading the old
//     tables (see rebuild.go).
//   - Days, months and hours are China time (UTC+8); windows are inclusive
//     ranges of China calendar days.
//   - In usage_facts, region codes are UInt32 (0: unknown) and people are
//     counted by holder_key, a 64-bit hash of the cardholder id (HolderKey):
//     integer keys make the city-wide GROUP BYs and distinct counts several
//     times faster than strings. The API shows codes as 6-digit text.
//
// On a ClickHouse cluster (OnCluster, CARDLEDGER_CLICKHOUSE_CLUSTER; see
// cluster.go): every table is a Replicated*MergeTree <table>_local per shard
// plus a Distributed <table> over them, created ON CLUSTER, and readers and
// writers use the plain names, so queries are the same SQL (subqueries over
// another table are GLOBAL IN, which 18.16 demands on Distributed tables
// and which is a plain IN on one server). The invariants above hold as on
// one server: inserts are synchronous (insert_distributed_sync) so the
// checkpoint follows rows on every shard, and undeduplicated
// (insert_deduplicate=0), because replicated block deduplication would drop
// the replay of a batch whose rows the recovery deleted; the recovery asks
// every replica directly for rows after the checkpoint and mutates the
// local tables of each shard concerned. A rebuild renames rebuilt local
// tables over the live ones ON CLUSTER (see cluster.go).
//
// ClickHouse compatibility: the DDL and queries run on 18.16 (Debian) and on
// current servers: no LowCardinality, DateTime64, Map, window functions,
// CTEs or TTL; explicit column lists on every INSERT. Amounts are stored as
// integer fen (Int64), summed exactly on every version, read back as text
// and shown as yuan with two places (shopspring/decimal).
//
// Speed: the projection decodes usage payloads without reflection
// (decodeUsageFast) and appends columns; with batches of RunnerOptions size
// it inserts about as fast as clickhouse-client loading TSV. The ingester
// writes DefaultIngestParallelism usage streams at once.
package analytics
