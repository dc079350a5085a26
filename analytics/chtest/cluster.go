package chtest

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/analytics"
)

// The cluster tests run against the private cluster of
// scripts/services.sh clickhouse-cluster (make test starts it): two shards
// of two replicas, named ClusterName.
const (
	// ClusterURLsEnv lists the nodes' URLs, comma-separated, in the order
	// shard 1 replica 1, shard 1 replica 2, shard 2 replica 1, shard 2 replica 2.
	ClusterURLsEnv = "CARDLEDGER_TEST_CLICKHOUSE_CLUSTER_URLS"
	// ClusterDirEnv is the cluster's folder, for stopping and starting nodes.
	ClusterDirEnv = "CARDLEDGER_TEST_CLICKHOUSE_CLUSTER_DIR"
	// RequireClusterEnv=1 makes the cluster tests fail instead of skip
	// when no cluster is named.
	RequireClusterEnv = "CARDLEDGER_REQUIRE_CLICKHOUSE_CLUSTER"
	ClusterName       = "cardledger"
)

// Cluster is a fresh database on every node of the test cluster.
type Cluster struct {
	Name string
	// URLs of the nodes (in ClusterURLsEnv's order), with the database.
	URLs []string
	dir  string
}

// NewClusterDatabase creates an empty database on every node of the test
// cluster, migrates it on the cluster and returns it; it is dropped when t
// ends. It skips t when no cluster is named (see RequireClusterEnv).
func NewClusterDatabase(t testing.TB) *Cluster {
	t.Helper()
	list, dir := os.Getenv(ClusterURLsEnv), os.Getenv(ClusterDirEnv)
	if list == "" || dir == "" {
		if os.Getenv(RequireClusterEnv) == "1" {
			t.Fatalf("chtest: %s and %s are not set (scripts/services.sh clickhouse-cluster)", ClusterURLsEnv, ClusterDirEnv)
		}
		t.Skipf("chtest: no ClickHouse cluster (%s unset)", ClusterURLsEnv)
	}
	name := "clcluster_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	c := &Cluster{Name: ClusterName, dir: dir}
	for _, u := range strings.Split(list, ",") {
		c.URLs = append(c.URLs, strings.TrimSuffix(u, "/default")+"/"+name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := analytics.Open(ctx, strings.Split(list, ",")[0])
	if err != nil {
		t.Fatalf("chtest: %v", err)
	}
	defer admin.Close()
	if err := admin.Exec(ctx, "CREATE DATABASE "+name+" ON CLUSTER "+ClusterName); err != nil {
		t.Fatalf("chtest: create database on cluster: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		admin, err := analytics.Open(ctx, strings.Split(list, ",")[0])
		if err != nil {
			t.Logf("chtest: drop %s: %v", name, err)
			return
		}
		defer admin.Close()
		if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" ON CLUSTER "+ClusterName); err != nil {
			t.Logf("chtest: drop %s: %v", name, err)
		}
	})
	conn, err := analytics.Open(ctx, c.URLs[0])
	if err != nil {
		t.Fatalf("chtest: %v", err)
	}
	defer conn.Close()
	if err := analytics.Migrate(ctx, conn, analytics.OnCluster(ClusterName, c.URLs[0])); err != nil {
		t.Fatalf("chtest: %v", err)
	}
	return c
}

// StopNode stops node i (0-based, in URLs' order) and waits until it is gone.
// A node a failing test leaves stopped is started again when t ends.
func (c *Cluster) StopNode(t testing.TB, i int) {
	c.node(t, "stop-node", i)
	t.Cleanup(func() { c.node(t, "start-node", i) })
}

// StartNode starts node i again and waits until it answers.
func (c *Cluster) StartNode(t testing.TB, i int) { c.node(t, "start-node", i) }

func (c *Cluster) node(t testing.TB, cmd string, i int) {
	t.Helper()
	script, err := scriptPath()
	if err != nil {
		t.Fatal(err)
	}
	script = strings.TrimSuffix(script, "ch-private.sh") + "ch-cluster.sh"
	if out, err := exec.Command(script, cmd, c.dir, strconv.Itoa(i+1)).CombinedOutput(); err != nil {
		t.Fatalf("chtest: %s %d: %v\n%s", cmd, i+1, err, out)
	}
}
