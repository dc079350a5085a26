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
// below a horizon: the oldest transaction that was still running when the
// reader's snapshot was taken and that could be writing to this table.
// Every transaction with a smaller xid has finished, so no row can ever
// appear with a position below what such a reader has seen; the visible log
// only grows at its end. A transaction's rows share its xid and commit
// together, and seq orders them within it, so an append stays contiguous in
// $all.
//
// The plain horizon is pg_snapshot_xmin(pg_current_snapshot()), the oldest
// running transaction of the whole cluster (xids are cluster-wide). That
// holds $all back behind long write transactions of other databases too:
// DROP DATABASE on a busy test server holds an xid for seconds. allHorizon
// narrows it: a running xid that pg_stat_activity shows in another database
// cannot write this table, so it does not count. Anything not positively
// known to be elsewhere counts (prepared transactions, entries hidden by
// permissions, a transaction that ended between the snapshot and the look
// at pg_stat_activity), so a mistake can only delay, never skip. A
// backend's database never changes, so a stale pg_stat_activity is as safe
// as a fresh one.
//
// The price left: $all lags behind commits while an older write transaction
// of this database is running. Appends are single statements, so between
// appenders the lag is a commit; keep long write transactions (bulk loads,
// big migrations, read-model rebuilds) out of the event store's database.
// Reads of one stream are not filtered: they see every committed event at
// once.
//
// Sequential appends get increasing positions: the second one's xid is
// assigned after the first committed. Concurrent appends are ordered by xid,
// which need not be commit order, but readers only see them once both are
// finished, so the order they observe never changes.

// allHorizon is the smallest xid that $all readers may not read yet. Both
// calls of pg_current_snapshot() return the statement's snapshot.
const allHorizon = `least(pg_snapshot_xmax(pg_current_snapshot()), (
	SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
	WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity AS a
		WHERE a.backend_xid = xid(x) AND a.datname <> current_database())))`

// visibleToAll is the WHERE clause term of $all queries that read from the
// newest event back (Head).
const visibleToAll = `xid < ` + allHorizon

// visibleAfter is visibleToAll for a read after the position ($1, $2), made
// cheaper. When no row after the position lies at or above the snapshot's
// xmin (the oldest transaction still running anywhere), every row after it
// is below allHorizon, which is never below xmin, so xmin bounds the read
// just as well and allHorizon's look at pg_stat_activity is skipped
// (PostgreSQL computes that subquery only when the CASE needs it). That look
// builds a row for every backend of the cluster, ≈ 1 ms of the server's CPU
// with a hundred connections, and every append wakes each subscription to
// read $all: the common read of a caught-up subscription finds nothing new,
// or rows all below xmin. The bound stays in the index condition, so a
// read held back by an old transaction still stops at it.
//
// Whether such a row exists is asked of the newest row alone (one step
// back along the primary key): rows are ordered by (xid, seq), so some row
// after the position has an xid at or above xmin exactly when the newest
// row is after the position and has one. Asked as "any later row with
// such an xid", PostgreSQL, which has no selectivity for xid8 ranges,
// took a third of the table to match and scanned it sequentially, the
// whole table for a caught-up reader: every live read grew with the
// event store.
const visibleAfter = `xid < CASE WHEN EXISTS (SELECT FROM (
			SELECT newest.xid, newest.seq FROM eventstore_events AS newest
			ORDER BY newest.xid DESC, newest.seq DESC LIMIT 1) AS n
		WHERE (n.xid, n.seq) > ($1::xid8, $2::bigint)
			AND n.xid >= pg_snapshot_xmin(pg_current_snapshot()))
	THEN ` + allHorizon + `
	ELSE pg_snapshot_xmin(pg_current_snapshot()) END`
