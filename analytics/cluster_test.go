package analytics_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/analytics/chtest"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// On a cluster of two shards of two replicas, one replica is stopped while
// usage is ingested and projected, and the projection crashes once before
// a checkpoint meanwhile: the analyses answer throughout with every record
// once, and after the replica returns each replica's own tables hold its
// shard's rows, which add up to the totals exactly.
func TestClusterRidesOutAStoppedReplicaWithExactTotals(t *testing.T) {
	cl := chtest.NewClusterDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	opt := analytics.OnCluster(cl.Name, cl.URLs[0])
	s := newSystemOn(t, cl.URLs[0], opt)
	var cards []string
	var people []person
	for i, region := range []string{"320505", "320583", "320102", "310104", "340104", "330106", "110105", "320506"} {
		people = append(people, s.register(i+1, region))
		cards = append(cards, people[i].cardNo)
	}
	rng := rand.New(rand.NewPCG(19, 1))
	var all []domain.UsageInput
	ingest := func(prefix string, n int) {
		records := randomUsage(rng, prefix, n, cards)
		s.ingest(records)
		all = append(all, records...)
	}
	nodes := make([]driver.Conn, len(cl.URLs))
	for i, u := range cl.URLs {
		var err error
		if nodes[i], err = analytics.Open(ctx, u); err != nil {
			t.Fatal(err)
		}
		defer nodes[i].Close()
	}
	const stopped = 1 // shard 1, replica 2
	down := false
	// Replication is asynchronous: an INSERT is acknowledged by one replica
	// of each shard, and a query may read the other before it has fetched
	// the part. The figures are compared once the replicas that run have
	// caught up with each other.
	wantStats := func(stage string) {
		t.Helper()
		for i, n := range nodes {
			if down && i == stopped {
				continue
			}
			for _, table := range []string{"usage_facts_local", "card_events_local"} {
				if err := n.Exec(ctx, "SYSTEM SYNC REPLICA "+table); err != nil {
					t.Fatalf("%s: sync node %d: %v", stage, i+1, err)
				}
			}
		}
		var got analytics.UsageStats
		s.getJSON("/v1/analytics/usage-stats?from=2024-12-01&to=2025-04-30", &got)
		count, amount := totals(all)
		if got.Count != count || got.Amount != amount.StringFixed(2) {
			t.Fatalf("%s: usage-stats says %d uses, %s yuan; want %d, %s", stage, got.Count, got.Amount, count, amount.StringFixed(2))
		}
		// A person's history selects their cards with a subquery over
		// another Distributed table (GLOBAL IN).
		p := people[2]
		want := 0
		for _, r := range all {
			if r.CardNo == p.cardNo {
				want++
			}
		}
		var history analytics.HistoryResponse
		s.getJSON("/v1/analytics/people/"+p.id+"/history?from=2024-12-01&to=2025-04-30", &history)
		if len(history.Uses) != want {
			t.Fatalf("%s: %d uses in the history of %s, want %d", stage, len(history.Uses), p.id, want)
		}
	}
	ingest("a", 400)
	s.project()
	wantStats("all replicas up")

	cl.StopNode(t, stopped)
	down = true
	ingest("b", 400)
	s.project()
	wantStats("one replica stopped")

	// A crash while the replica is down: a batch's rows reached the shards,
	// its checkpoint did not; the next process deletes them and applies the
	// batch again.
	cp, err := s.proj.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ingest("c", 300)
	batch := readBatch(ctx, t, s, cp)
	if err := s.proj.Apply(ctx, batch); err != nil {
		t.Fatal(err)
	}
	dropCheckpointsAfter(ctx, t, cl, stopped, cp)
	restarted := analytics.NewProjection(s.ch, opt)
	if pos, err := restarted.Recover(ctx); err != nil || pos != cp {
		t.Fatalf("recovered at %s (%v), want %s", pos, err, cp)
	}
	if err := restarted.Apply(ctx, batch); err != nil {
		t.Fatal(err)
	}
	wantStats("after a crash with one replica stopped")

	cl.StartNode(t, stopped)
	down = false
	if nodes[stopped], err = analytics.Open(ctx, cl.URLs[stopped]); err != nil { // the old connection died with the server
		t.Fatal(err)
	}
	defer nodes[stopped].Close()
	wantStats("replica back")
	// The returned replica fetches what it missed and runs the deletion
	// from its replication queue.
	for _, table := range []string{"usage_facts_local", "card_events_local"} {
		if err := nodes[stopped].Exec(ctx, "SYSTEM SYNC REPLICA "+table); err != nil {
			t.Fatal(err)
		}
		waitMutationsOn(ctx, t, nodes[stopped], table)
	}
	wantReplicasExact := func(stage string) {
		t.Helper()
		wantCount, wantAmount := totals(all)
		var sumCount uint64
		var sumFen int64
		for shard := 0; shard < 2; shard++ {
			var first [3]uint64
			for r := 0; r < 2; r++ {
				i := shard*2 + r
				var count, events uint64
				var fen int64
				if err := nodes[i].QueryRow(ctx, `SELECT count(), uniqExact(event_id), sum(amount_fen) FROM usage_facts_local`).Scan(&count, &events, &fen); err != nil {
					t.Fatal(err)
				}
				if count != events {
					t.Errorf("%s: node %d: %d rows of %d events", stage, i+1, count, events)
				}
				if r == 0 {
					first = [3]uint64{count, events, uint64(fen)}
					sumCount += count
					sumFen += fen
				} else if [3]uint64{count, events, uint64(fen)} != first {
					t.Errorf("%s: shard %d: replica 2 holds %d rows (%d events, %d fen), replica 1 %d rows (%d events, %d fen)",
						stage, shard+1, count, events, fen, first[0], first[1], first[2])
				}
			}
			if first[0] == 0 {
				t.Errorf("%s: shard %d holds no usage: the sharding key sends everything elsewhere", stage, shard+1)
			}
		}
		if sumCount != wantCount || decimal.New(sumFen, -2).StringFixed(2) != wantAmount.StringFixed(2) {
			t.Fatalf("%s: the shards hold %d uses, %d fen; want %d, %s yuan", stage, sumCount, sumFen, wantCount, wantAmount.StringFixed(2))
		}
	}
	wantReplicasExact("replica back")

	// A rebuild on the cluster refills copies from the log and swaps them in
	// on every node: rows lost from the live tables are back, and nothing
	// is left over.
	for _, i := range []int{0, 2} { // one replica of each shard; ZooKeeper carries it to the other
		if err := nodes[i].Exec(ctx, `ALTER TABLE usage_facts_local DELETE WHERE record_id IN ('a-0001', 'a-0002', 'a-0003')`); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		waitMutationsOn(ctx, t, n, "usage_facts_local")
	}
	var lost uint64
	if err := s.ch.QueryRow(ctx, `SELECT count() FROM usage_facts WHERE record_id IN ('a-0001', 'a-0002', 'a-0003')`).Scan(&lost); err != nil || lost != 0 {
		t.Fatalf("planting a divergence: %d rows left (%v)", lost, err)
	}
	if _, err := s.rebuildRunner(s.ch).Rebuild(ctx, analytics.ProjectionName); err != nil {
		t.Fatal(err)
	}
	wantStats("after a rebuild")
	wantReplicasExact("after a rebuild")
	for i, n := range nodes {
		var left []string
		rows, err := n.Query(ctx, `SELECT name FROM system.tables WHERE database = currentDatabase()
			AND (name LIKE '%_rebuild%' OR name LIKE '%_replaced%')`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			left = append(left, name)
		}
		rows.Close()
		if len(left) != 0 {
			t.Errorf("node %d: tables left over after the rebuild: %v", i+1, left)
		}
	}
	ingest("d", 100)
	s.project()
	wantStats("applying after the rebuild")
}

// totals are the number and amount (yuan) of records.
func totals(records []domain.UsageInput) (uint64, decimal.Decimal) {
	sum := decimal.Zero
	for _, r := range records {
		if r.Amount != "" {
			sum = sum.Add(decimal.RequireFromString(r.Amount))
		}
	}
	return uint64(len(records)), sum
}

// readBatch reads the log after cp up to the newest event the test wrote.
func readBatch(ctx context.Context, t *testing.T, s *system, cp eventstore.Position) []eventstore.RecordedEvent {
	t.Helper()
	var batch []eventstore.RecordedEvent
	var err error
	for len(batch) == 0 || batch[len(batch)-1].Position.Less(s.lastWritten()) {
		if batch, err = s.store.ReadAll(ctx, cp, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return batch
}

// dropCheckpointsAfter deletes the checkpoints after cp on every node but
// the stopped one, as if the Apply that wrote them had crashed before. (By
// position, not by the newest row a query finds: that query may read a
// replica that has not fetched the newest row yet. And once every running
// replica has fetched it: without that, 2 runs in 5 recovered at the
// deleted checkpoint on 18.16, cause not pinned down.)
func dropCheckpointsAfter(ctx context.Context, t *testing.T, cl *chtest.Cluster, stopped int, cp eventstore.Position) {
	t.Helper()
	after := fmt.Sprintf("pos_commit > %d OR (pos_commit = %d AND pos_prepare > %d)", cp.Commit, cp.Commit, cp.Prepare)
	var conns []driver.Conn
	for i, u := range cl.URLs {
		if i == stopped {
			continue
		}
		conn, err := analytics.Open(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.Exec(ctx, "SYSTEM SYNC REPLICA projection_checkpoints_local"); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	for _, conn := range conns {
		if err := conn.Exec(ctx, "ALTER TABLE projection_checkpoints_local DELETE WHERE "+after); err != nil {
			t.Fatal(err)
		}
	}
	for _, conn := range conns {
		waitMutationsOn(ctx, t, conn, "projection_checkpoints_local")
		var left uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM projection_checkpoints_local WHERE "+after).Scan(&left); err != nil || left != 0 {
			t.Fatalf("checkpoints after %s left on a replica: %d (%v)", cp, left, err)
		}
	}
}

func waitMutationsOn(ctx context.Context, t *testing.T, conn driver.Conn, table string) {
	t.Helper()
	for {
		var n uint64
		if err := conn.QueryRow(ctx, `SELECT count() FROM system.mutations
			WHERE database = currentDatabase() AND table = ? AND is_done = 0`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("mutations of %s did not finish: %v", table, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
