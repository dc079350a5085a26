package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	base := map[string]string{
		"CARDBRIDGE_READER": "ACS ACR39U ICC Reader 00 00",
		"CARDBRIDGE_SERVER": "http://10.0.0.5:8080",
		"CARDBRIDGE_KEY":    "k",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	parse := func(env map[string]string, args ...string) (Config, error) {
		return parseConfig(args, func(k string) string { return env[k] }, io.Discard)
	}

	t.Run("defaults", func(t *testing.T) {
		c, err := parse(base)
		if err != nil {
			t.Fatal(err)
		}
		want := Config{Reader: "ACS ACR39U ICC Reader 00 00", Server: "http://10.0.0.5:8080", Key: "k",
			Listen: "127.0.0.1:8765", LatestHolder: "full", Merchant: "cardbridge",
			ReadTimeout: 5 * time.Second, ServerTimeout: 2 * time.Second, UsageTimeout: 5 * time.Second,
			ReaderPoll: time.Second, OfflineMaxAge: 7 * 24 * time.Hour}
		if c != want {
			t.Errorf("got %+v\nwant %+v", c, want)
		}
	})
	t.Run("terminal key for e-card codes", func(t *testing.T) {
		c, err := parse(with("CARDBRIDGE_TERMINAL_KEY", "from-env"))
		if err != nil || c.TerminalKey != "from-env" {
			t.Fatalf("env: %+v %v", c, err)
		}
		if c, err = parse(with("CARDBRIDGE_TERMINAL_KEY", "from-env"), "--terminal-key", "from-flag"); err != nil || c.TerminalKey != "from-flag" {
			t.Fatalf("flag: %+v %v", c, err)
		}
	})
	t.Run("flags win over the environment", func(t *testing.T) {
		c, err := parse(with("CARDBRIDGE_SERVER_TIMEOUT", "3s", "CARDBRIDGE_REPORT_USAGE", "true", "CARDBRIDGE_REGION_CODE", "320508"),
			"--reader", "Virtual PCD 00 01", "--server-timeout", "500ms")
		if err != nil {
			t.Fatal(err)
		}
		if c.Reader != "Virtual PCD 00 01" || c.ServerTimeout != 500*time.Millisecond || !c.ReportUsage || c.RegionCode != "320508" {
			t.Errorf("got %+v", c)
		}
	})

	refused := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no reader", with("CARDBRIDGE_READER", ""), nil, "CARDBRIDGE_READER is required"},
		{"nothing to check against", with("CARDBRIDGE_SERVER", ""), nil, "nothing to check cards against"},
		{"server without key", with("CARDBRIDGE_KEY", ""), nil, "CARDBRIDGE_KEY is required"},
		{"server not a URL", with("CARDBRIDGE_SERVER", "10.0.0.5:8080"), nil, "want an http(s) URL"},
		{"holder data to the network", with("CARDBRIDGE_LISTEN", "0.0.0.0:8765"), nil, "not a loopback address"},
		{"unknown holder mode", with("CARDBRIDGE_LATEST_HOLDER", "partial"), nil, "want full or masked"},
		{"usage without region", with("CARDBRIDGE_REPORT_USAGE", "1"), nil, "needs --region-code"},
		{"usage without server", with("CARDBRIDGE_SERVER", "", "CARDBRIDGE_BLACKLIST_DIR", "/var/lib/bl"), []string{"--report-usage", "--region-code", "320508"}, "needs --server"},
		{"bad duration", with("CARDBRIDGE_READ_TIMEOUT", "5"), nil, "CARDBRIDGE_READ_TIMEOUT"},
		{"zero timeout", base, []string{"--read-timeout", "0s"}, "--read-timeout must be positive"},
		{"stray argument", base, []string{"extra"}, "unexpected arguments"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			_, err := parse(c.env, c.args...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}

	t.Run("masked holder may listen on the network", func(t *testing.T) {
		if _, err := parse(with("CARDBRIDGE_LISTEN", "0.0.0.0:8765", "CARDBRIDGE_LATEST_HOLDER", "masked")); err != nil {
			t.Error(err)
		}
	})
	t.Run("offline copy alone", func(t *testing.T) {
		if _, err := parse(with("CARDBRIDGE_SERVER", "", "CARDBRIDGE_KEY", "", "CARDBRIDGE_BLACKLIST_DIR", "/var/lib/bl")); err != nil {
			t.Error(err)
		}
	})
}
