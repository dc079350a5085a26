package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/analytics/chtest"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/netcut"
	"github.com/cardledger/cardledger/internal/pgpool"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/readapi"
)

// behindProxy puts a cuttable proxy in front of the server of rawURL and
// returns the URL through it.
func behindProxy(t *testing.T, rawURL string) (*netcut.Proxy, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	p := netcut.New(t, u.Host)
	u.Host = p.Addr
	return p, u.String()
}

// assertUnavailable checks the answer an outage must give: 503 with
// Retry-After, a problem naming the dependency when it is known.
func assertUnavailable(t *testing.T, a answer, dependency, route string) {
	t.Helper()
	if !assert.Equal(t, http.StatusServiceUnavailable, a.status, "%s: %s", route, a.body) {
		return
	}
	secs, err := strconv.Atoi(a.header.Get("Retry-After"))
	assert.NoError(t, err, "%s: Retry-After %q", route, a.header.Get("Retry-After"))
	assert.Positive(t, secs, "%s: Retry-After", route)
	if route == "GET /readyz" { // a readiness report, not a problem
		return
	}
	assert.Equal(t, httpapi.ProblemContentType, a.header.Get("Content-Type"), route)
	assert.Equal(t, httpapi.CodeDependencyUnavailable, a.problem.Code, "%s: %s", route, a.body)
	if dependency != "" {
		assert.Equal(t, dependency, a.problem.Dependency, "%s: %s", route, a.body)
	}
}

// register sends a registration of person n as admin and returns the status.
func (m *matrix) register(n int) (int, []byte) {
	first := holderRegion + "19800101" + strconv.Itoa(101+2*n) // odd: male
	return m.send(http.MethodPost, m.b.srv.URL+"/v1/cardholders", "any-admin", map[string]string{
		"id_number": first + string(domain.IDCheckChar(first)), "name": "李四", "sex": "male", "nationality": "CHN",
		"region_code": holderRegion, "phone": "13800000001", "employer_code": "E001", "community_code": "C001",
	})
}

// While PostgreSQL is unreachable every route that needs it answers 503
// with Retry-After (never 500), and commands flow again once it is back.
func TestPostgresOutageAnswers503AndRecovers(t *testing.T) {
	proxy, pgURL := behindProxy(t, testpg.NewDatabase(t))
	m := newMatrix(t, map[string]string{"CARDLEDGER_POSTGRES_URL": pgURL})

	proxy.Cut()
	for _, route := range m.routes() {
		for _, client := range []string{"any-admin", "any-counter"} {
			a := m.answer(route, client)
			switch {
			case route == "GET /openapi.json", route == "GET /ecard/login", route == "GET /ecard/login.js",
				route == "GET /v1/platform/catalogue":
				assert.Equal(t, http.StatusOK, a.status) // static or made from the route tables at start-up: no database
			case route == "GET /v1/notifications/status" && a.status == http.StatusOK,
				route == "POST /v1/notifications/dead-letters/{id}/redelivery" && a.status == http.StatusConflict:
				// The matrix configures no SMS gateway or mail server: once
				// the caller is authenticated (a cached client), the status
				// says {"enabled":false} and a redelivery is refused
				// notifications_off, neither reading a table.
			case route == "GET /v1/ecard/login-sessions/{id}" && a.status == http.StatusNotFound:
				// The matrix's id is no session id: refused by its form, unread.
			case a.status == http.StatusBadRequest, a.status == http.StatusForbidden:
				// Refusals that need no database (the role, an empty
				// upload, the example's export kind) may still come first.
			default:
				assertUnavailable(t, a, "", route)
			}
		}
	}
	// Concurrent commands and reads, as clients keep sending during a
	// crash: every one is a 503, none a 500.
	var wg sync.WaitGroup
	statuses := make(chan int, 8*20)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				status, _ := m.send(http.MethodGet, m.b.srv.URL+"/v1/cards/"+m.card, "any-counter", nil)
				statuses <- status
				status, _ = m.register(100 + 10*w + i)
				statuses <- status
			}
		}()
	}
	wg.Wait()
	close(statuses)
	for status := range statuses {
		require.Equal(t, http.StatusServiceUnavailable, status)
	}
	// Registration is refused as unavailable (the 201 below shows it was not stored).
	status, body := m.register(1)
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)

	require.NoError(t, proxy.Restore())
	require.Eventually(t, func() bool {
		status, _ := m.register(1)
		return status == http.StatusCreated
	}, time.Minute, 20*time.Millisecond, "commands flow again after the database is back")
	status, body = m.send(http.MethodGet, m.b.srv.URL+"/v1/cards/"+m.card, "any-admin", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
}

// analyticsRoutes are the served routes that read ClickHouse.
func (m *matrix) analyticsRoutes() []string {
	var out []string
	for _, r := range m.routes() {
		if strings.HasPrefix(r, "GET /v1/analytics/") || r == "GET /dashboard/data" {
			out = append(out, r)
		}
	}
	return out
}

// readiness reads /readyz.
func (m *matrix) readiness() (int, readapi.Readiness) {
	m.t.Helper()
	status, body := m.send(http.MethodGet, m.b.srv.URL+"/readyz", "", nil)
	var r readapi.Readiness
	require.NoError(m.t, json.Unmarshal(body, &r), "%s", body)
	return status, r
}

// While ClickHouse is unreachable analytics answers 503 naming it, and the
// core keeps working and stays ready (degraded); afterwards analytics
// answers again.
func TestClickHouseOutageTakesOnlyAnalytics(t *testing.T) {
	proxy, chURL := behindProxy(t, chtest.NewDatabase(t))
	m := newMatrix(t, map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_CLICKHOUSE_URL": chURL})
	require.NotEmpty(t, m.analyticsRoutes())

	proxy.Cut()
	m.assertAnalyticsOnlyDown()

	require.NoError(t, proxy.Restore())
	m.assertAnalyticsBack()
}

// serve starts while ClickHouse is down (it used to refuse to), serves the
// core, and takes up analytics when ClickHouse comes back.
func TestServeStartsWhileClickHouseIsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	proxy, chURL := behindProxy(t, chtest.NewDatabase(t))
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_CLICKHOUSE_URL": chURL,
		"CARDLEDGER_LOG_LEVEL": "error", "CARDLEDGER_RATE_LIMIT": "0"}
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	require.Equal(t, 0, run(ctx, env, []string{"migrate"}))

	proxy.Cut()
	b := bootMigrated(t, ctx, env)
	m := &matrix{t: t, b: b, byRoute: map[string]*httptest.Server{}, keys: map[string]string{}, examples: map[string]json.RawMessage{}}
	m.add(b.srv, b.e)
	for _, role := range []httpapi.Role{httpapi.RoleAdmin, httpapi.RoleCounter, httpapi.RoleBlacklistConsumer} {
		m.client(ctx, b.d.pool, auth.Client{Name: "any-" + string(role), Role: role})
	}
	status, body := m.register(0)
	require.Equal(t, http.StatusCreated, status, "%s", body)
	var res struct {
		CardholderID string `json:"cardholder_id"`
	}
	require.NoError(t, json.Unmarshal(body, &res))
	m.holder = res.CardholderID
	status, body = m.send(http.MethodPost, b.srv.URL+"/v1/cardholders/"+m.holder+"/instant-issuance", "any-admin",
		map[string]string{"bank_code": holderBank, "account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	require.Equal(t, http.StatusOK, status, "%s", body)
	var issued struct {
		CardNo string `json:"card_no"`
	}
	require.NoError(t, json.Unmarshal(body, &issued))
	m.card = issued.CardNo
	m.assertAnalyticsOnlyDown()

	require.NoError(t, proxy.Restore())
	m.assertAnalyticsBack()
	require.Eventually(t, func() bool {
		status, _ := m.send(http.MethodGet, b.srv.URL+"/v1/analytics/cards/"+m.card+"/history", "any-admin", nil)
		return status == http.StatusOK
	}, time.Minute, 50*time.Millisecond, "the analytics projection caught up with what happened during the outage")
}

func (m *matrix) assertAnalyticsOnlyDown() {
	t := m.t
	t.Helper()
	for _, route := range m.analyticsRoutes() {
		assertUnavailable(t, m.answer(route, "any-admin"), "clickhouse", route)
	}
	// The core: a command, a read of the read model, the blacklist.
	status, body := m.register(2)
	assert.Equal(t, http.StatusCreated, status, "a command during the ClickHouse outage: %s", body)
	require.Eventually(t, func() bool {
		status, _ := m.send(http.MethodGet, m.b.srv.URL+"/v1/cards/"+m.card, "any-admin", nil)
		return status == http.StatusOK
	}, time.Minute, 20*time.Millisecond, "reads")
	status, body = m.send(http.MethodGet, m.b.srv.URL+"/v1/blacklist/"+m.card, "any-blacklist-consumer", nil)
	assert.Equal(t, http.StatusOK, status, "the blacklist during the ClickHouse outage: %s", body)
	status, body = m.send(http.MethodGet, m.b.srv.URL+"/healthz", "", nil)
	assert.Equal(t, http.StatusOK, status, "%s", body)

	// Metrics still show the core's projections, and which status failed.
	require.Eventually(t, func() bool {
		status, body := m.send(http.MethodGet, m.b.srv.URL+"/metrics", "", nil)
		return status == http.StatusOK && strings.Contains(string(body), `cardledger_projection_status_ok{projection="clickhouse-analytics"} 0`) &&
			strings.Contains(string(body), `cardledger_projection_lag_events{projection="readmodel"}`)
	}, time.Minute, 50*time.Millisecond, "/metrics during the ClickHouse outage")

	status, r := m.readiness()
	assert.Equal(t, http.StatusOK, status, "%+v", r)
	assert.True(t, r.Ready, "%+v", r)
	assert.True(t, r.Degraded, "%+v", r)
	for _, d := range r.Dependencies {
		assert.Equal(t, d.Name != "clickhouse", d.OK, "%+v", d)
	}
}

func (m *matrix) assertAnalyticsBack() {
	t := m.t
	t.Helper()
	require.Eventually(t, func() bool {
		_, r := m.readiness()
		return r.Ready && !r.Degraded
	}, time.Minute, 50*time.Millisecond, "readiness no longer degraded once ClickHouse is back")
	for _, route := range m.analyticsRoutes() {
		a := m.answer(route, "any-admin")
		assert.Less(t, a.status, 500, "%s after the outage: %s", route, a.body)
	}
}

// holdPool takes every connection of the pool (retrying acquires that time
// out while the projections hold one) and returns a release function.
func holdPool(t *testing.T, pool *pgxpool.Pool) func() {
	t.Helper()
	var held []*pgxpool.Conn
	release := func() {
		for _, c := range held {
			c.Release()
		}
		held = nil
	}
	deadline := time.Now().Add(time.Minute)
	for int32(len(held)) < pool.Config().MaxConns {
		require.True(t, time.Now().Before(deadline), "could not take the whole pool")
		c, err := pool.Acquire(context.Background())
		if err != nil {
			continue
		}
		held = append(held, c)
	}
	return release
}

// A saturated pool answers 503 with Retry-After after the acquire timeout,
// not 500 and not an unbounded wait.
func TestSaturatedPoolAnswers503(t *testing.T) {
	dbURL := testpg.NewDatabase(t) + "&pool_max_conns=3&pool_acquire_timeout=1s"
	m := newMatrix(t, map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL})
	read := "GET /v1/cards/{card_no}"
	require.Equal(t, http.StatusOK, m.answer(read, "any-admin").status) // the key is cached now

	release := holdPool(t, m.b.d.pool)
	assertUnavailable(t, m.answer(read, "any-admin"), "", read)
	status, body := m.register(3)
	assert.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	release()

	assert.Equal(t, http.StatusOK, m.answer(read, "any-admin").status)
	status, body = m.register(3)
	assert.Equal(t, http.StatusCreated, status, "%s", body)
}

// The read models and the event store share one pool when they name one
// database, so a process stays within its documented budget of
// connections however busy it is.
func TestOneDatabaseOneConnectionBudget(t *testing.T) {
	dbURL := testpg.NewDatabase(t)
	m := newMatrix(t, map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL})
	require.Nil(t, m.b.d.storePool, "the event store has a pool of its own")
	release := holdPool(t, m.b.d.pool)
	defer release()
	// Every pooled connection is taken; commands and reads now wait for
	// the same pool rather than opening connections of their own.
	m.register(4)
	m.answer("GET /v1/cards/{card_no}", "any-admin")

	u, err := url.Parse(dbURL)
	require.NoError(t, err)
	var n int
	admin := testpg.NewPool(t, testpg.ServerURL())
	require.NoError(t, admin.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_stat_activity WHERE datname = $1", strings.TrimPrefix(u.Path, "/")).Scan(&n))
	assert.LessOrEqual(t, n, pgpool.DefaultMaxConns+pgpool.PerProcessExtra, "connections of one process")
	assert.Equal(t, int32(pgpool.DefaultMaxConns), m.b.d.pool.Config().MaxConns)
}

// `cardledger project` starts while ClickHouse is down too: it runs the
// PostgreSQL projections (they take their locks) instead of exiting.
func TestProjectStartsWhileClickHouseIsDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	proxy, chURL := behindProxy(t, chtest.NewDatabase(t))
	dbURL := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL, "CARDLEDGER_CLICKHOUSE_URL": chURL, "CARDLEDGER_LOG_LEVEL": "error"}
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	require.Equal(t, 0, run(ctx, env, []string{"migrate"}))
	proxy.Cut()

	runCtx, stop := context.WithCancel(ctx)
	exited := make(chan int, 1)
	go func() { exited <- run(runCtx, env, []string{"project"}) }()
	defer func() { stop(); <-exited }()
	pool := testpg.NewPool(t, dbURL)
	for {
		select {
		case code := <-exited:
			exited <- code
			t.Fatalf("project exited (%d) while ClickHouse was down", code)
		case <-time.After(20 * time.Millisecond):
		}
		var locks int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").Scan(&locks))
		if locks >= 2 { // the read model's and the audit trail's
			return
		}
	}
}
