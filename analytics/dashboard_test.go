package analytics_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
)

const chromium = "/usr/bin/chromium"

// screenshotPath is where the dashboard test keeps its screenshot: under
// $ARTIFACTS when CI sets it, else testdata/ (ignored by git).
func screenshotPath(t *testing.T) string {
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = "testdata"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := filepath.Abs(filepath.Join(dir, "dashboard.png"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func headless(ctx context.Context, t *testing.T, args ...string) []byte {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir=" + t.TempDir(), "--window-size=1600,1300"}
	out, err := exec.CommandContext(ctx, chromium, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return out
}

func TestDashboardDrawsItsChartsInHeadlessChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium is not installed")
	}
	s := newSystem(t)
	var cards []string
	for i, r := range []string{"320505", "320583", "320102", "340104", "310101"} {
		cards = append(cards, s.register(i, r).cardNo)
	}
	s.clock.Set(time.Date(2025, 2, 10, 10, 0, 0, 0, domain.ChinaTime()))
	s.card(cards[0], domain.ReportLoss{CardNo: cards[0]})
	s.ingest(randomUsage(rand.New(rand.NewPCG(7, 8)), "dash", 500, cards))
	s.project()
	srv := httptest.NewServer(s.http)
	defer srv.Close()

	t.Run("the data route is public and holds aggregates only", func(t *testing.T) {
		res, err := http.Get(srv.URL + "/dashboard/data")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var d analytics.DashboardData
		if err := json.NewDecoder(res.Body).Decode(&d); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("GET /dashboard/data: %d %v", res.StatusCode, err)
		}
		if len(d.Flows) == 0 || len(d.Spending) != analytics.DashboardMonths || d.Lag == nil || d.Cities["320500"] != "苏州市" {
			t.Fatalf("dashboard data: %d flows, %d months, lag %v, cities %v", len(d.Flows), len(d.Spending), d.Lag, d.Cities)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dom := string(headless(ctx, t, "--virtual-time-budget=5000", "--dump-dom", srv.URL+"/dashboard"))
	if m := regexp.MustCompile(`(?s)<pre id="errors">(.*?)</pre>`).FindStringSubmatch(dom); m == nil || strings.TrimSpace(m[1]) != "" {
		t.Fatalf("page errors: %v", m)
	}
	if !strings.Contains(dom, `data-state="ready"`) || !strings.Contains(dom, "· ready</title>") {
		t.Fatalf("charts did not finish drawing; DOM: %.3000s", dom)
	}
	// Every chart container got an ECharts canvas.
	for _, id := range []string{"chart-flows", "chart-spending", "chart-categories", "chart-issuance", "chart-blacklist"} {
		i := strings.Index(dom, `id="`+id+`"`)
		if i < 0 || !strings.Contains(dom[i:min(len(dom), i+2000)], "<canvas") {
			t.Errorf("%s has no canvas", id)
		}
	}
	shot := screenshotPath(t)
	headless(ctx, t, "--virtual-time-budget=5000", "--screenshot="+shot, srv.URL+"/dashboard")
	if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
		t.Fatalf("screenshot %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}
