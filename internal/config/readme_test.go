package config

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

// Every setting must be documented in the README's configuration table.
func TestEverySettingIsInTheREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Settings {
		row := "| `" + s.Env + "` | `--" + s.Flag + "` |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README lacks the row starting %q", row)
		}
	}
}

func TestFlagsOverrideEnvironment(t *testing.T) {
	env := map[string]string{"CARDLEDGER_LISTEN": "127.0.0.1:9999", "CARDLEDGER_CITY_CODE": "320100"}
	fs := newFlagSet()
	c, err := Load(fs, []string{"--listen", "127.0.0.1:7000"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:7000" || c.CityCode != "320100" {
		t.Fatalf("got listen %q city %q, want the flag's listen and the env's city", c.Listen, c.CityCode)
	}
	if c.EventStoreURL != c.PostgresURL {
		t.Fatalf("event store URL %q should default to the read-model URL %q", c.EventStoreURL, c.PostgresURL)
	}
	if kind, _ := c.EventStoreKind(); kind != "postgres" {
		t.Fatalf("default event store kind %q, want postgres", kind)
	}
}

func TestBadSettingsAreRefusedWithTheirName(t *testing.T) {
	cases := map[string]map[string]string{
		"CARDLEDGER_ID_KEY":            {"CARDLEDGER_ID_KEY": "not-hex"},
		"CARDLEDGER_PROJECTIONS":       {"CARDLEDGER_PROJECTIONS": "maybe"},
		"CARDLEDGER_CITY_CODE":         {"CARDLEDGER_CITY_CODE": "32"},
		"CARDLEDGER_POSTGRES_READ_URL": {"CARDLEDGER_POSTGRES_READ_URL": "esdb://127.0.0.1:2113"},
		"CARDLEDGER_PROVINCE_TIMEOUT":  {"CARDLEDGER_PROVINCE_TIMEOUT": "soon"},
		"CARDLEDGER_PROJECTION_LINGER": {"CARDLEDGER_PROJECTION_LINGER": "2s"},
		"CARDLEDGER_STREAM_CACHE":      {"CARDLEDGER_STREAM_CACHE": "-1"},
	}
	for name, env := range cases {
		_, err := Load(newFlagSet(), nil, func(k string) string { return env[k] })
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: error %v should name the setting", name, err)
		}
	}
	c, _ := Load(newFlagSet(), nil, func(k string) string {
		return map[string]string{"CARDLEDGER_EVENTSTORE_URL": "mysql://x"}[k]
	})
	if _, err := c.EventStoreKind(); err == nil || !strings.Contains(err.Error(), "CARDLEDGER_EVENTSTORE_URL") {
		t.Errorf("unknown event-store scheme: error %v should name the setting", err)
	}
}

func newFlagSet() *flag.FlagSet { return flag.NewFlagSet("test", flag.ContinueOnError) }

// The client commands' server and key come from here, not from the
// environment read elsewhere, so the README table covers them.
func TestClientCommandsServerAndKey(t *testing.T) {
	env := map[string]string{"CARDLEDGER_SERVER_URL": "https://ledger.example", "CARDLEDGER_API_KEY": "clk_env"}
	c, err := Load(newFlagSet(), []string{"--api-key", "clk_flag"}, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerURL != "https://ledger.example" || c.APIKey != "clk_flag" {
		t.Fatalf("got server %q key %q, want the env's server and the flag's key", c.ServerURL, c.APIKey)
	}
	c, err = Load(newFlagSet(), nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerURL != DefaultServerURL || c.APIKey != "" {
		t.Fatalf("defaults: server %q key %q", c.ServerURL, c.APIKey)
	}
}

// The sandbox's database defaults to "<name>_sandbox" on the read models'
// server with a small pool; a URL of its own wins, and "off" turns it off.
func TestSandboxDatabase(t *testing.T) {
	load := func(env map[string]string) Config {
		t.Helper()
		c, err := Load(newFlagSet(), nil, func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	base := map[string]string{"CARDLEDGER_POSTGRES_URL": "postgres://u:p@db:5433/city?sslmode=disable"}
	if got, want := load(base).SandboxPostgresURL, "postgres://u:p@db:5433/city_sandbox?pool_max_conns=4&sslmode=disable"; got != want {
		t.Errorf("default sandbox URL: got %q, want %q", got, want)
	}
	own := map[string]string{"CARDLEDGER_POSTGRES_URL": base["CARDLEDGER_POSTGRES_URL"], "CARDLEDGER_SANDBOX_POSTGRES_URL": "postgres://other/sbx"}
	if got := load(own).SandboxPostgresURL; got != "postgres://other/sbx" {
		t.Errorf("own sandbox URL: got %q", got)
	}
	off := map[string]string{"CARDLEDGER_POSTGRES_URL": base["CARDLEDGER_POSTGRES_URL"], "CARDLEDGER_SANDBOX_POSTGRES_URL": SandboxOff}
	if got := load(off).SandboxPostgresURL; got != "" {
		t.Errorf("sandbox off: got %q", got)
	}
}

// The sandbox's production desk runs every 30 s by default; a duration of
// its own wins, "off" turns it off, and anything else is refused by name.
func TestSandboxProductionInterval(t *testing.T) {
	load := func(v string) (Config, error) {
		return Load(newFlagSet(), nil, func(k string) string {
			return map[string]string{"CARDLEDGER_SANDBOX_PRODUCTION_INTERVAL": v}[k]
		})
	}
	for v, want := range map[string]time.Duration{"": 30 * time.Second, "250ms": 250 * time.Millisecond, "2m": 2 * time.Minute, "off": 0} {
		c, err := load(v)
		if err != nil || c.SandboxProductionInterval != want {
			t.Errorf("%q: got %s, %v; want %s", v, c.SandboxProductionInterval, err, want)
		}
	}
	for _, v := range []string{"0s", "-1s", "soon", "25h", "OFF"} {
		if _, err := load(v); err == nil || !strings.Contains(err.Error(), "CARDLEDGER_SANDBOX_PRODUCTION_INTERVAL") {
			t.Errorf("%q: error %v should name the setting", v, err)
		}
	}
}

// The cluster name is spliced into DDL (ON CLUSTER, Distributed(…)): only
// an identifier is accepted.
func TestClickHouseClusterIsAnIdentifier(t *testing.T) {
	for name, ok := range map[string]bool{"cardledger": true, "prov_1": true, "a b": false, "x;DROP": false, "1st": false} {
		env := map[string]string{"CARDLEDGER_CLICKHOUSE_CLUSTER": name}
		c, err := Load(newFlagSet(), nil, func(k string) string { return env[k] })
		if ok && (err != nil || c.ClickHouseCluster != name) {
			t.Errorf("%q: %v, cluster %q", name, err, c.ClickHouseCluster)
		}
		if !ok && err == nil {
			t.Errorf("%q accepted", name)
		}
	}
}

// The projections' linger: the default, the environment's, a flag's over
// it; outside 1ms..1s it is refused.
func TestProjectionLinger(t *testing.T) {
	load := func(env map[string]string, args ...string) (Config, error) {
		return Load(newFlagSet(), args, func(k string) string { return env[k] })
	}
	c, err := load(nil)
	if err != nil || c.ProjectionLinger != DefaultProjectionLinger {
		t.Fatalf("default: %v, %v; want %v", c.ProjectionLinger, err, DefaultProjectionLinger)
	}
	env := map[string]string{"CARDLEDGER_PROJECTION_LINGER": "30ms"}
	if c, err = load(env); err != nil || c.ProjectionLinger != 30*time.Millisecond {
		t.Fatalf("env 30ms: %v, %v", c.ProjectionLinger, err)
	}
	if c, err = load(env, "--projection-linger", "60ms"); err != nil || c.ProjectionLinger != 60*time.Millisecond {
		t.Fatalf("flag 60ms over env 30ms: %v, %v", c.ProjectionLinger, err)
	}
	for _, bad := range []string{"0s", "500us", "1001ms", "-5ms", "soon"} {
		if _, err := load(map[string]string{"CARDLEDGER_PROJECTION_LINGER": bad}); err == nil {
			t.Errorf("linger %q accepted", bad)
		}
	}
}
