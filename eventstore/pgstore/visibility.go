package pgstore

// The visibility problem, and how positions avoid it.
//
// A global position taken from a sequence (bigserial) is handed out when a
// row is inserted, not when its transaction commits. Two appends A and B can
// take seq 10 and 11, B commits first, a reader of $all delivers 11 and
// remembers "after 11"; then A commits and 10 is never read. Per-stream
// revisions do not have this problem (the unique (stream, revision) makes
// writers of one stream serialise), but $all does.
//
// So the position is (xid, seq), where xid is pg_current_xact_id() of the
// appending transaction, and $all readers only look at rows whose xid is
// below pg_snapshot_xmin(pg_current_snapshot()): the oldest transaction still
// running when the reader's snapshot was taken. Every transaction with a
// smaller xid has finished, so no row can ever appear with a position below
// what such a reader has seen; the visible log only grows at its end. A
// transaction's rows share its xid and commit together, and seq orders them
// within it, so an append stays contiguous in $all.
//
// The price: $all lags behind commits while any older transaction that
// holds a transaction id is running, in ANY database of the cluster (xids are
// cluster-wide). Appends are single statements, so between appenders the lag
// is a commit; a long write transaction elsewhere (a bulk load, a big
// migration, DROP DATABASE, which holds an xid for half a second on a busy
// test server) delays $all delivery until it ends. So keep long write
// transactions off the event store's cluster. Reads of one stream are not
// filtered: they see every committed event at once.
//
// Sequential appends get increasing positions: the second one's xid is
// assigned after the first committed. Concurrent appends are ordered by xid,
// which need not be commit order, but readers only see them once both are
// finished, so the order they observe never changes.

// visibleToAll is the WHERE clause term every $all query uses.
const visibleToAll = `xid < pg_snapshot_xmin(pg_current_snapshot())`
