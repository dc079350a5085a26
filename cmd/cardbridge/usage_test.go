package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardledger/cardledger/analytics/chtest"
)

// An accepted card is reported as an identity_auth usage record that the
// server's ingester stores; a report the server refuses is logged and
// changes nothing else.
func TestAgentReportsIdentityAuthUsage(t *testing.T) {
	stack.Need(t)
	t.Run("stored by the usage API", func(t *testing.T) {
		l := startLedger(t, "CARDLEDGER_CLICKHOUSE_URL="+clickhouseDatabase(t))
		cardNo := l.issueCard(t)
		cfg := agentConfig(l.url, l.counter, "")
		cfg.ReportUsage, cfg.RegionCode = true, "110105"
		a := startAgent(t, cfg)
		stack.StartCard(t, "--card-number", cardNo)
		if dec := a.out.next(t, 10*time.Second, is(evDecision)); dec.Decision.Decision != Accepted {
			t.Fatalf("decision %s", dec.raw)
		}
		rep := a.out.next(t, 10*time.Second, func(l logged) bool { return l.Event.Event == evUsageReported || l.Kind == "usage_report" })
		if rep.Event.Event != evUsageReported || rep.CardNo != cardNo || rep.Records != 1 {
			t.Errorf("usage report: %s; want usage_reported for %s, 1 record", rep.raw, cardNo)
		}
	})
	t.Run("refused report is logged, not fatal", func(t *testing.T) {
		l := startLedger(t) // no ClickHouse: no usage API (404)
		cardNo := l.issueCard(t)
		cfg := agentConfig(l.url, l.counter, "")
		cfg.ReportUsage, cfg.RegionCode = true, "110105"
		a := startAgent(t, cfg)
		e := stack.StartCard(t, "--card-number", cardNo)
		a.out.next(t, 10*time.Second, is(evDecision))
		rep := a.out.next(t, 10*time.Second, isError("usage_report"))
		if !strings.Contains(rep.Message, "404") {
			t.Errorf("usage error %s does not say what the server answered", rep.raw)
		}
		if dec := a.reinsert(t, e); dec.Decision.Decision != Accepted || dec.Source != SourceServer {
			t.Errorf("next insertion after a failed report: %s", dec.raw)
		}
	})
}

// clickhouseDatabase gives the test a fresh analytics database on the
// server named by CARDLEDGER_TEST_CLICKHOUSE_URL, or on a private server
// started for it (scripts/clickhouse/ch-private.sh). Without
// clickhouse-server it skips, unless CARDLEDGER_REQUIRE_CLICKHOUSE=1.
func clickhouseDatabase(t *testing.T) string {
	t.Helper()
	if os.Getenv(chtest.URLEnv) != "" {
		return chtest.NewDatabase(t)
	}
	if _, err := os.Stat("/usr/sbin/clickhouse-server"); err != nil {
		if os.Getenv("CARDLEDGER_REQUIRE_CLICKHOUSE") == "1" {
			t.Fatal("clickhouse-server is not installed and CARDLEDGER_REQUIRE_CLICKHOUSE=1")
		}
		t.Skip("clickhouse-server is not installed")
	}
	dir, err := os.MkdirTemp("", "cardbridge-ch-")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(stack.Root, "scripts", "clickhouse", "ch-private.sh")
	out, err := exec.Command(script, "start", dir).Output()
	fields := strings.Fields(string(out))
	if err != nil || len(fields) != 3 {
		os.RemoveAll(dir)
		t.Fatalf("start clickhouse: %v %q", err, out)
	}
	t.Cleanup(func() {
		exec.Command(script, "stop", dir).Run()
		for i := 0; i < 200; i++ { // the server must be gone before its folder goes
			if _, err := os.Stat("/proc/" + fields[0]); err != nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		os.RemoveAll(dir)
	})
	t.Setenv(chtest.URLEnv, "clickhouse://127.0.0.1:"+fields[1]+"/default")
	return chtest.NewDatabase(t)
}
