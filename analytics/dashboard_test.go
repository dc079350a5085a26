package analytics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

const chromium = "/usr/bin/chromium"

// screenshotPath is where the dashboard test keeps its screenshot: under
// $ARTIFACTS when CI sets it, else testdata/ (ignored by git).
func screenshotPath(t *testing.T, name string) string {
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = "testdata"
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// headless runs chromium with a viewport of width×height. Headless chromium
// still subtracts its (invisible) browser frame from --window-size, so the
// frame is measured once on an empty page and added.
func headless(ctx context.Context, t *testing.T, width, height int, args ...string) []byte {
	t.Helper()
	frameOnce.Do(func() {
		// Measured after load: at parse time the window may not have its size yet.
		page := "data:text/html,<p id=v></p><script>setTimeout(function(){document.getElementById('v').textContent=innerHeight},100)</script>"
		out := runChromium(ctx, t, 1920, 1080, "--virtual-time-budget=1000", "--dump-dom", page)
		if m := regexp.MustCompile(`<p id="v">(\d+)</p>`).FindStringSubmatch(string(out)); m != nil {
			inner, _ := strconv.Atoi(m[1])
			frame = max(0, 1080-inner)
		}
		t.Logf("browser frame: %d px", frame)
	})
	return runChromium(ctx, t, width, height+frame, args...)
}

var (
	frameOnce sync.Once
	frame     int // browser frame height headless chromium subtracts from the window
)

func runChromium(ctx context.Context, t *testing.T, width, height int, args ...string) []byte {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir(), fmt.Sprintf("--window-size=%d,%d", width, height)}
	out, err := exec.CommandContext(ctx, chromium, append(base, args...)...).Output()
	if err != nil {
		t.Fatalf("chromium %v: %v", args, err)
	}
	return out
}

// dashboardSystem is a system with a little of everything the dashboard draws.
func dashboardSystem(t *testing.T) *system {
	s := newSystem(t)
	var cards []string
	for i, r := range []string{"320505", "320583", "320102", "340104", "310101"} {
		cards = append(cards, s.register(i, r).cardNo)
	}
	s.clock.Set(time.Date(2025, 2, 10, 10, 0, 0, 0, domain.ChinaTime()))
	s.card(cards[0], domain.ReportLoss{CardNo: cards[0]})
	s.ingest(randomUsage(rand.New(rand.NewPCG(7, 8)), "dash", 500, cards))
	s.project()
	return s
}

func problemCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, body %s", ct, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	return p.Code
}

func TestDashboardDataNeedsAnAnalystKeyOrADisplayToken(t *testing.T) {
	s := dashboardSystem(t)
	get := func(path, bearer string) *httptest.ResponseRecorder { return s.do(http.MethodGet, path, bearer, nil) }

	rec := get("/dashboard/data", "")
	if rec.Code != http.StatusUnauthorized || problemCode(t, rec) != httpapi.CodeUnauthenticated {
		t.Fatalf("no key: %d %s", rec.Code, rec.Body)
	}
	for _, tc := range []struct{ path, bearer string }{
		{"/dashboard/data?display_token=" + displayKey, ""},
		{"/dashboard/data", analystKey},
		{"/dashboard/data", displayKey},
	} {
		if rec := get(tc.path, tc.bearer); rec.Code != http.StatusOK {
			t.Errorf("GET %s (bearer %q): %d %s", tc.path, tc.bearer, rec.Code, rec.Body)
		}
	}
	// Only a display key may travel in a URL, and only to the dashboard.
	for _, tc := range []struct {
		path, bearer string
		status       int
		code         string
	}{
		{"/dashboard/data?display_token=" + analystKey, "", http.StatusUnauthorized, httpapi.CodeUnauthenticated},
		{"/dashboard/data?display_token=no-such-key", "", http.StatusUnauthorized, httpapi.CodeUnauthenticated},
		{"/v1/analytics/flows?display_token=" + displayKey, "", http.StatusUnauthorized, httpapi.CodeUnauthenticated},
		{"/v1/analytics/lifecycle?display_token=" + displayKey, "", http.StatusUnauthorized, httpapi.CodeUnauthenticated},
		{"/v1/analytics/flows", displayKey, http.StatusForbidden, httpapi.CodeForbidden},
		{"/v1/analytics/usage-stats", displayKey, http.StatusForbidden, httpapi.CodeForbidden},
	} {
		rec := get(tc.path, tc.bearer)
		if rec.Code != tc.status || problemCode(t, rec) != tc.code {
			t.Errorf("GET %s (bearer %q): %d %s, want %d %s", tc.path, tc.bearer, rec.Code, rec.Body, tc.status, tc.code)
		}
	}

	var d analytics.DashboardData
	s.getJSON("/dashboard/data?months=3", &d)
	if d.Months != 3 || len(d.Spending) != 3 || d.From != "2025-01-01" || d.PartialMonth != "2025-03" || d.City != "苏州市" ||
		len(d.Flows) == 0 || d.Lag == nil || d.Cities["320500"] != "苏州市" {
		t.Fatalf("months=3: months %d, %d spending rows, from %s, partial %s, city %q, %d flows, lag %v, cities %v",
			d.Months, len(d.Spending), d.From, d.PartialMonth, d.City, len(d.Flows), d.Lag, d.Cities)
	}
	s.getJSON("/dashboard/data", &d)
	if d.Months != analytics.DashboardMonths || len(d.Spending) != analytics.DashboardMonths {
		t.Fatalf("default window: %d months, %d spending rows", d.Months, len(d.Spending))
	}
	for _, bad := range []string{"0", "61", "x"} {
		if rec := get("/dashboard/data?months="+bad, analystKey); rec.Code != http.StatusBadRequest {
			t.Errorf("months=%s: %d %s", bad, rec.Code, rec.Body)
		}
	}

	// CARDLEDGER_DASHBOARD_PUBLIC=true: the same data without a key.
	log := logrus.New()
	log.SetOutput(io.Discard)
	public := httpapi.NewServer(httpapi.Options{Log: log, Auth: httpapi.StaticAuthenticator{}},
		analytics.NewAPI(nil, analytics.NewQueries(s.ch), nil, nil).WithScreen(analytics.Screen{Public: true}).Routes())
	rec = httptest.NewRecorder()
	public.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dashboard/data", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("public dashboard: %d %s", rec.Code, rec.Body)
	}
}

func TestHallScreenFitsWithoutScrollingInHeadlessChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium is not installed")
	}
	s := dashboardSystem(t)
	srv := httptest.NewServer(s.http)
	defer srv.Close()
	page := srv.URL + "/dashboard?display_token=" + displayKey

	for _, size := range [][2]int{{1920, 1080}, {3840, 2160}} {
		w, h := size[0], size[1]
		t.Run(fmt.Sprintf("%dx%d", w, h), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			dom := string(headless(ctx, t, w, h, "--virtual-time-budget=5000", "--dump-dom", page))
			if m := regexp.MustCompile(`(?s)<pre id="errors">(.*?)</pre>`).FindStringSubmatch(dom); m == nil || strings.TrimSpace(m[1]) != "" {
				t.Fatalf("page errors: %v", m)
			}
			if !strings.Contains(dom, `data-state="ready"`) || !strings.Contains(dom, "· ready</title>") {
				t.Fatalf("charts did not finish drawing; DOM: %.3000s", dom)
			}
			if !regexp.MustCompile(`<title>苏州市[^<]*</title>`).MatchString(dom) {
				t.Errorf("the title does not name the city: %.300s", dom)
			}
			// Every chart container got an ECharts canvas.
			for _, id := range []string{"chart-flows", "chart-spending", "chart-categories", "chart-issuance", "chart-blacklist"} {
				i := strings.Index(dom, `id="`+id+`"`)
				if i < 0 || !strings.Contains(dom[i:min(len(dom), i+2000)], "<canvas") {
					t.Errorf("%s has no canvas", id)
				}
			}
			// No scrolling: the page's content is no larger than the viewport.
			m := regexp.MustCompile(`data-fit="(\d+),(\d+),(\d+),(\d+)"`).FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("no data-fit in the DOM")
			}
			n := make([]int, 4)
			for i := range n {
				n[i], _ = strconv.Atoi(m[i+1])
			}
			scrollH, innerH, scrollW, innerW := n[0], n[1], n[2], n[3]
			t.Logf("scroll %dx%d, viewport %dx%d", scrollW, scrollH, innerW, innerH)
			if innerW != w || innerH != h {
				t.Fatalf("viewport %dx%d, want %dx%d", innerW, innerH, w, h)
			}
			if scrollH > innerH || scrollW > innerW {
				t.Errorf("the page scrolls: content %dx%d, viewport %dx%d", scrollW, scrollH, innerW, innerH)
			}
			if w != 1920 {
				return // one screenshot is enough to look at; each costs seconds
			}
			shot := screenshotPath(t, fmt.Sprintf("dashboard-%dx%d.png", w, h))
			// A screenshot's viewport is the whole window (no frame to add).
			runChromium(ctx, t, w, h, "--virtual-time-budget=5000", "--screenshot="+shot, page)
			if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
				t.Fatalf("screenshot %s: %v", shot, err)
			}
			t.Logf("screenshot: %s", shot)
		})
	}
}
