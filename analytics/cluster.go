package analytics

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
)

// On a ClickHouse cluster (CARDLEDGER_CLICKHOUSE_CLUSTER names one of the
// server's remote_servers) every table of the migrations becomes two, both
// created ON CLUSTER:
//
//   - <table>_local, the Replicated* variant of the table's engine, with
//     ZooKeeper path /clickhouse/tables/{shard}/<database>/<table> and
//     replica {replica} (macros every node must define), holding one shard;
//   - <table>, a Distributed table over the <table>_local of every shard,
//     with a sharding key chosen so that the rows a ReplacingMergeTree would
//     collapse (same sort key) land on the same shard (shardKeys).
//
// Readers and writers keep using the plain names, so the queries are the
// same SQL on one server and on a cluster; the projection writes through
// the Distributed tables synchronously (insert_distributed_sync=1: an
// INSERT returns once every shard has the rows), and deletes its debris
// after a crash on the local tables of every shard (deleteAfterOnCluster).

// Option configures where the analytics tables live.
type Option func(*options)

type options struct {
	cluster string
	url     string
}

// OnCluster makes Migrate and the projection use the cluster named name
// ("" means one server: the option changes nothing). url is the URL the
// connection was opened with: after a crash the projection connects to
// every node of the cluster with its user, password and timeouts.
func OnCluster(name, url string) Option {
	return func(o *options) { o.cluster, o.url = name, url }
}

func optionsOf(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// clusterNamePattern is what may be spliced into DDL as a cluster name.
var clusterNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ValidClusterName reports whether name can name a cluster in DDL.
func ValidClusterName(name string) bool { return clusterNamePattern.MatchString(name) }

// shardKeys are the Distributed sharding keys: one person's usage, one
// cardholder's lifecycle and dimension rows, one card, one checkpoint stay
// on one shard.
var shardKeys = map[string]string{
	"usage_facts":            "holder_key",
	"card_events":            "cityHash64(holder)",
	"holders":                "cityHash64(holder)",
	"cards":                  "cityHash64(card_no)",
	"projection_checkpoints": "cityHash64(name)",
}

var (
	createTablePattern = regexp.MustCompile(`^CREATE TABLE IF NOT EXISTS (\w+) \(`)
	enginePattern      = regexp.MustCompile(`ENGINE = (\w*MergeTree)(\(([^)]*)\))?`)
)

// onCluster turns one single-server statement of the migrations into the
// cluster's statements: the replicated local table and the Distributed one.
// Only CREATE TABLE of a MergeTree family engine is known; anything else is
// refused rather than run on one node.
func onCluster(stmt, db, cluster string) ([]string, error) {
	return onClusterAs(stmt, db, cluster, "", "")
}

// onClusterAs is onCluster for a copy of the table: name instead of the
// table's name, and zkName as the last element of its ZooKeeper path ("":
// the table's own names).
func onClusterAs(stmt, db, cluster, name, zkName string) ([]string, error) {
	m := createTablePattern.FindStringSubmatch(stmt)
	e := enginePattern.FindStringSubmatchIndex(stmt)
	if m == nil || e == nil {
		return nil, fmt.Errorf("statement %.40q has no cluster form (only CREATE TABLE IF NOT EXISTS … ENGINE = …MergeTree is known)", stmt)
	}
	table := m[1]
	key, ok := shardKeys[table]
	if !ok {
		return nil, fmt.Errorf("table %s has no sharding key", table)
	}
	if name == "" {
		name = table
	}
	if zkName == "" {
		zkName = table
	}
	engine := stmt[e[2]:e[3]]
	args := fmt.Sprintf("'/clickhouse/tables/{shard}/%s/%s', '{replica}'", db, zkName)
	if e[6] >= 0 && strings.TrimSpace(stmt[e[6]:e[7]]) != "" {
		args += ", " + stmt[e[6]:e[7]]
	}
	local := stmt[:e[0]] + "ENGINE = Replicated" + engine + "(" + args + ")" + stmt[e[1]:]
	local = strings.Replace(local, m[0], fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s_local ON CLUSTER %s (", db, name, cluster), 1)
	dist := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s AS %s.%s_local ENGINE = Distributed(%s, %s, %s_local, %s)",
		db, name, cluster, db, name, cluster, db, name, key)
	return []string{local, dist}, nil
}

// migrateCluster is Migrate on a cluster: the database on every node, the
// migrations' record replicated to every node (one ZooKeeper path for all
// shards), then the statements in their cluster form.
func migrateCluster(ctx context.Context, conn driver.Conn, cluster string) error {
	if !ValidClusterName(cluster) {
		return fmt.Errorf("clickhouse migrate: cluster name %q: letters, digits and _ only", cluster)
	}
	var db string
	if err := conn.QueryRow(ctx, `SELECT currentDatabase()`).Scan(&db); err != nil {
		return fmt.Errorf("clickhouse migrate: current database: %w", err)
	}
	for _, stmt := range []string{
		fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s ON CLUSTER %s", db, cluster),
		fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s.schema_migrations ON CLUSTER %s (
			version UInt32,
			name String,
			applied_at DateTime('UTC')
		) ENGINE = ReplicatedMergeTree('/clickhouse/tables/all/%s/schema_migrations', '{replica}') ORDER BY version`, db, cluster, db),
	} {
		if err := conn.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("clickhouse migrate on cluster %s: %w", cluster, err)
		}
	}
	return applyMigrations(ctx, conn, func(stmt string) ([]string, error) { return onCluster(stmt, db, cluster) })
}

// clusterWrite is the context of the projection's inserts on a cluster:
// synchronous through the Distributed tables, so that the checkpoint is
// written only after every shard holds the batch's rows; and without block
// deduplication, because a replay after a crash must insert again exactly
// the rows deleteAfterOnCluster removed (an identical block would be
// dropped as a duplicate of the deleted one, and its rows lost).
func clusterWrite(ctx context.Context) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"insert_distributed_sync": 1,
		"insert_deduplicate":      0,
	}))
}

// clusterNode is one replica of one shard, as the connected server's
// system.clusters lists it.
type clusterNode struct {
	shard, replica uint32
	addr           string
}

func clusterNodes(ctx context.Context, conn driver.Conn, cluster string) ([]clusterNode, error) {
	rows, err := conn.Query(ctx, `SELECT shard_num, replica_num, host_address, port FROM system.clusters
		WHERE cluster = ? ORDER BY shard_num, replica_num`, cluster)
	if err != nil {
		return nil, fmt.Errorf("list nodes of cluster %s: %w", cluster, err)
	}
	defer rows.Close()
	var nodes []clusterNode
	for rows.Next() {
		var n clusterNode
		var host string
		var port uint16
		if err := rows.Scan(&n.shard, &n.replica, &host, &port); err != nil {
			return nil, fmt.Errorf("list nodes of cluster %s: %w", cluster, err)
		}
		n.addr = fmt.Sprintf("%s:%d", host, port)
		nodes = append(nodes, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list nodes of cluster %s: %w", cluster, err)
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("cluster %s: the server knows no such cluster (remote_servers)", cluster)
	}
	return nodes, nil
}

// deleteAfterOnCluster is deleteAfter on a cluster. Every replica is asked
// directly, not through the Distributed table: an INSERT is acknowledged by
// one replica of each shard, and its sibling may not have fetched the rows
// yet. A shard gets the mutation (on one reachable replica; ZooKeeper
// carries it to the others, and it covers the parts every replica has
// registered, fetched or not) when any of its replicas holds rows after
// pos, or when one cannot be asked: what only it holds must go too. The
// wait is for the replicas that answer; one that is down applies the
// mutation from its queue when it returns.
func deleteAfterOnCluster(ctx context.Context, conn driver.Conn, o options, pos eventstore.Position, suffix string) error {
	opts, err := clickhouse.ParseDSN(o.url)
	if err != nil {
		return fmt.Errorf("clickhouse: parse url: %w", err)
	}
	nodes, err := clusterNodes(ctx, conn, o.cluster)
	if err != nil {
		return err
	}
	var db string
	if err := conn.QueryRow(ctx, `SELECT currentDatabase()`).Scan(&db); err != nil {
		return fmt.Errorf("current database: %w", err)
	}
	conns := make(map[string]driver.Conn)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	nodeConn := func(n clusterNode) (driver.Conn, error) {
		if c, ok := conns[n.addr]; ok {
			return c, nil
		}
		no := *opts
		no.Addr = []string{n.addr}
		no.Auth.Database = db
		no.DialTimeout = 2 * time.Second
		if no.ReadTimeout == 0 || no.ReadTimeout == 300*time.Second {
			no.ReadTimeout = DefaultReadTimeout
		}
		c, err := clickhouse.Open(&no)
		if err != nil {
			return nil, err
		}
		if err := c.Ping(ctx); err != nil {
			c.Close()
			return nil, err
		}
		conns[n.addr] = c
		return c, nil
	}
	cond := afterCondition(pos)
	for _, base := range factTables {
		table := base + suffix + "_local"
		mutate := make(map[uint32]bool)
		reachable := make(map[uint32][]driver.Conn)
		for _, n := range nodes {
			c, err := nodeConn(n)
			if err != nil {
				mutate[n.shard] = true // cannot be asked: may hold rows only it has
				continue
			}
			var rows uint64
			if err := c.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE "+cond).Scan(&rows); err != nil {
				mutate[n.shard] = true
				continue
			}
			reachable[n.shard] = append(reachable[n.shard], c)
			if rows > 0 {
				mutate[n.shard] = true
			}
		}
		for shard := range mutate {
			cs := reachable[shard]
			if len(cs) == 0 {
				return fmt.Errorf("delete rows of %s after checkpoint: no replica of shard %d answers", table, shard)
			}
			if err := cs[0].Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+cond); err != nil {
				return fmt.Errorf("delete rows of %s after checkpoint on shard %d: %w", table, shard, err)
			}
			for _, c := range cs {
				if err := waitMutations(ctx, c, table); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// A rebuild on a cluster (rebuild.go) fills copies made ON CLUSTER from the
// migrations' statements: <table>_rebuild_local, replicated under a
// ZooKeeper path of its own (a renamed replicated table keeps its path, so
// each copy gets a fresh one), and <table>_rebuild over it. The swap renames
// only the local tables, ON CLUSTER: the live Distributed tables name their
// local tables, so they read the rebuilt ones from then on. Unlike on one
// server, a RENAME ON CLUSTER runs node by node: for a moment a query may
// read a rebuilt shard beside a replaced one, and a RENAME that fails on a
// node is not undone (the error says so).

func currentDatabase(ctx context.Context, conn driver.Conn) (string, error) {
	var db string
	if err := conn.QueryRow(ctx, `SELECT currentDatabase()`).Scan(&db); err != nil {
		return "", fmt.Errorf("current database: %w", err)
	}
	return db, nil
}

func (p *Projection) shadowOnCluster(ctx context.Context) (*Projection, error) {
	db, err := currentDatabase(ctx, p.conn)
	if err != nil {
		return nil, err
	}
	if err := p.dropShadowOnCluster(ctx); err != nil {
		return nil, err
	}
	nonce := strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
	created := 0
	for _, m := range migrations() {
		for _, stmt := range m.statements {
			t := createTablePattern.FindStringSubmatch(stmt)
			if t == nil || !slices.Contains(projectionTables, t[1]) {
				continue
			}
			stmts, err := onClusterAs(stmt, db, p.opts.cluster, t[1]+rebuildSuffix, t[1]+"-"+nonce)
			if err != nil {
				return nil, fmt.Errorf("create %s%s: %w", t[1], rebuildSuffix, err)
			}
			for _, st := range stmts {
				if err := p.conn.Exec(ctx, st); err != nil {
					return nil, fmt.Errorf("create %s%s on cluster %s: %w", t[1], rebuildSuffix, p.opts.cluster, err)
				}
			}
			created++
		}
	}
	if created != len(projectionTables) {
		// A later migration that alters a table must teach this its form.
		return nil, fmt.Errorf("shadow on cluster: %d of %d tables found in the migrations", created, len(projectionTables))
	}
	return &Projection{conn: p.conn, opts: p.opts, suffix: rebuildSuffix}, nil
}

func (p *Projection) dropShadowOnCluster(ctx context.Context) error {
	db, err := currentDatabase(ctx, p.conn)
	if err != nil {
		return err
	}
	for _, t := range projectionTables {
		for _, name := range []string{t + rebuildSuffix, t + rebuildSuffix + "_local"} {
			if err := p.conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s ON CLUSTER %s", db, name, p.opts.cluster)); err != nil {
				return fmt.Errorf("drop %s on cluster %s: %w", name, p.opts.cluster, err)
			}
		}
	}
	return nil
}

// swapOnCluster renames the rebuilt local tables over the live ones on
// every node and drops the replaced ones and the copies' Distributed tables.
func (p *Projection) swapOnCluster(ctx context.Context) error {
	db, err := currentDatabase(ctx, p.conn)
	if err != nil {
		return err
	}
	drop := func(name string) error {
		if err := p.conn.Exec(ctx, fmt.Sprintf("DROP TABLE IF EXISTS %s.%s ON CLUSTER %s", db, name, p.opts.cluster)); err != nil {
			return fmt.Errorf("drop %s on cluster %s: %w", name, p.opts.cluster, err)
		}
		return nil
	}
	for _, t := range projectionTables {
		if err := drop(t + replacedSuffix + "_local"); err != nil {
			return err
		}
	}
	renames := make([]string, 0, 2*len(projectionTables))
	for _, t := range projectionTables {
		renames = append(renames,
			fmt.Sprintf("%s.%s_local TO %s.%s%s_local", db, t, db, t, replacedSuffix),
			fmt.Sprintf("%s.%s%s_local TO %s.%s_local", db, t, rebuildSuffix, db, t))
	}
	if err := p.conn.Exec(ctx, "RENAME TABLE "+strings.Join(renames, ", ")+" ON CLUSTER "+p.opts.cluster); err != nil {
		return fmt.Errorf("swap tables on cluster %s (not undone: check every node's tables): %w", p.opts.cluster, err)
	}
	p.mu.Lock()
	p.loaded = false
	p.mu.Unlock()
	for _, t := range projectionTables {
		if err := drop(t + rebuildSuffix); err != nil {
			return fmt.Errorf("rebuilt tables swapped in, but: %w", err)
		}
		if err := drop(t + replacedSuffix + "_local"); err != nil {
			return fmt.Errorf("rebuilt tables swapped in, but: %w", err)
		}
	}
	return nil
}
