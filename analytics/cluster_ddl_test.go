package analytics

import (
	"strings"
	"testing"
)

// Every table of the migrations has a cluster form: a replicated local
// table of the same engine family and arguments, and a Distributed table
// over it with the table's sharding key.
func TestEveryMigrationHasAClusterForm(t *testing.T) {
	tables := 0
	for _, m := range migrations() {
		for _, stmt := range m.statements {
			got, err := onCluster(stmt, "db1", "c1")
			if err != nil {
				t.Fatal(err)
			}
			table := createTablePattern.FindStringSubmatch(stmt)[1]
			tables++
			engine := enginePattern.FindStringSubmatch(stmt)
			wantEngine := "ENGINE = Replicated" + engine[1] + "('/clickhouse/tables/{shard}/db1/" + table + "', '{replica}'"
			if engine[3] != "" {
				wantEngine += ", " + engine[3]
			}
			if len(got) != 2 ||
				!strings.HasPrefix(got[0], "CREATE TABLE IF NOT EXISTS db1."+table+"_local ON CLUSTER c1 (") ||
				!strings.Contains(got[0], wantEngine+")") ||
				got[1] != "CREATE TABLE IF NOT EXISTS db1."+table+" ON CLUSTER c1 AS db1."+table+"_local ENGINE = Distributed(c1, db1, "+table+"_local, "+shardKeys[table]+")" {
				t.Errorf("%s: cluster form\n%s", table, strings.Join(got, "\n"))
			}
		}
	}
	if tables != len(shardKeys) {
		t.Errorf("%d tables in the migrations, %d sharding keys", tables, len(shardKeys))
	}
	if _, err := onCluster("ALTER TABLE usage_facts ADD COLUMN x UInt8", "db1", "c1"); err == nil {
		t.Error("an ALTER was given a cluster form it does not have")
	}
}
