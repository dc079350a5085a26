package readapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/readapi"
)

// replicaAdmin runs sql on the replica's server as its superuser.
func replicaAdmin(t *testing.T, sql string, dest ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, testpg.ReadServerURL())
	require.NoError(t, err)
	defer pool.Close()
	if len(dest) == 0 {
		_, err = pool.Exec(ctx, sql)
	} else {
		err = pool.QueryRow(ctx, sql).Scan(dest...)
	}
	require.NoError(t, err, sql)
}

// A write on the primary is read through the replica: a read with
// min_position is answered once the replica (not only the primary) has
// applied the position; with the replica's replay paused it gets 503
// projection_behind after the wait, while plain reads see the replica's
// older state; once replay resumes a waiting read answers. The lag shows
// in /metrics, the replica in /readyz.
func TestReadsThroughTheReplicaWaitUntilItHasAppliedThePosition(t *testing.T) {
	if testpg.ReadServerURL() == "" {
		t.Skip("no read replica: set CARDLEDGER_TEST_POSTGRES_READ_URL (`make test` makes one with scripts/services.sh pg-replica)")
	}
	h := newHarness(t)
	h.seed(3, seed.HistoryOptions{})
	h.run()
	h.caughtUp()
	s1, _ := seed.Lifecycle(seed.HistoryKey, 1, false)
	s2, _ := seed.Lifecycle(seed.HistoryKey, 2, false)

	// Served once applied: the write is answered at once through the replica.
	pos := h.appendEvents(s1, domain.CardReportedLost{CardNo: "B00000001"})
	var e readapi.BlacklistEntry
	h.getJSON(keyConsumer, "/v1/blacklist/B00000001?min_position="+pos.String(), http.StatusOK, &e)
	require.True(t, e.Listed, "%+v", e)

	// Replay paused: the primary's read model moves on, the replica's not.
	replicaAdmin(t, "SELECT pg_wal_replay_pause()")
	t.Cleanup(func() { replicaAdmin(t, "SELECT pg_wal_replay_resume()") }) // the replica serves every other test too
	for deadline := time.Now().Add(10 * time.Second); ; {
		var state string
		replicaAdmin(t, "SELECT pg_get_wal_replay_pause_state()", &state)
		if state == "paused" {
			break
		}
		require.True(t, time.Now().Before(deadline), "replay never paused: %s", state)
		time.Sleep(10 * time.Millisecond)
	}
	pos = h.appendEvents(s2, domain.CardReportedLost{CardNo: "B00000002"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, h.runner.WaitFor(ctx, pos), "the primary's read model has the loss")

	h.api.WithMaxWait(time.Second)
	start := time.Now()
	status, ctype, body := h.get(keyConsumer, "/v1/blacklist/B00000002?min_position="+pos.String())
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	require.GreaterOrEqual(t, time.Since(start), time.Second, "the read waited the whole bound")
	require.Equal(t, "application/problem+json", ctype)
	var p httpapi.Problem
	require.NoError(t, json.Unmarshal(body, &p))
	require.Equal(t, readapi.CodeProjectionBehind, p.Code)
	require.Contains(t, p.Detail, "read replica")

	// Without min_position the replica answers what it has: not yet listed.
	h.getJSON(keyConsumer, "/v1/blacklist/B00000002", http.StatusOK, &e)
	require.False(t, e.Listed, "a plain read is served by the paused replica: %+v", e)

	// The lag shows: seconds since the last transaction the replica
	// replayed, and the WAL bytes it has not.
	_, _, metrics := h.get("", "/metrics")
	require.Contains(t, string(metrics), "cardledger_postgres_replica_up 1\n")
	require.Greater(t, metricValue(t, metrics, "cardledger_postgres_replica_lag_seconds"), 0.5)
	require.Greater(t, metricValue(t, metrics, "cardledger_postgres_replica_lag_bytes"), 0.0)
	var ready readapi.Readiness
	h.getJSON("", "/readyz", http.StatusOK, &ready) // seconds behind, within the bound
	require.Contains(t, ready.Dependencies, readapi.DependencyStatus{Name: readapi.DependencyReplica, OK: true})

	// Resumed: a read waiting for the position is answered once applied.
	h.api.WithMaxWait(10 * time.Second)
	type answer struct {
		status int
		body   []byte
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/v1/blacklist/B00000002?min_position="+pos.String(), nil)
		req.Header.Set("Authorization", "Bearer "+keyConsumer)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{0, []byte(err.Error())}
			return
		}
		defer res.Body.Close()
		var b json.RawMessage
		_ = json.NewDecoder(res.Body).Decode(&b)
		done <- answer{res.StatusCode, b}
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case a := <-done:
		t.Fatalf("answered while replay was paused: %d %s", a.status, a.body)
	default:
	}
	replicaAdmin(t, "SELECT pg_wal_replay_resume()")
	a := <-done
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	require.NoError(t, json.Unmarshal(a.body, &e))
	require.True(t, e.Listed, "%+v", e)

	// Caught up again. Other tests' writes stream to the replica too, so
	// "caught up" is seconds, not exactly 0.
	h.replicaSynced()
	_, _, metrics = h.get("", "/metrics")
	require.Less(t, metricValue(t, metrics, "cardledger_postgres_replica_lag_seconds"), 1.0)
}

// metricValue is the value of an unlabelled series in a text exposition.
func metricValue(t *testing.T, exposition []byte, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(exposition)
	require.NotNil(t, m, "no %s in\n%s", name, exposition)
	v, err := strconv.ParseFloat(string(m[1]), 64)
	require.NoError(t, err)
	return v
}

// A replica that does not answer: reads get 503 naming it, /readyz is not
// ready and says why, /metrics still answers with up 0.
func TestAReplicaThatIsDownIsNamed(t *testing.T) {
	h := newHarness(t)
	h.seed(2, seed.HistoryOptions{})
	h.run()
	h.caughtUp()
	// A port nobody listens on (the listener is closed at once).
	dead := httptest.NewServer(http.NotFoundHandler())
	addr := dead.Listener.Addr().String()
	dead.Close()
	down := testpg.NewPool(t, "postgres://postgres@"+addr+"/postgres?sslmode=disable&connect_timeout=1")
	api := readapi.NewAPI(h.pool, h.runner, seed.HistoryKey, h.log).WithReplica(down)
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{
		Auth: httpapi.StaticAuthenticator{keyConsumer: {Client: "pos", Role: httpapi.RoleBlacklistConsumer}}, Log: h.log},
		api.Routes()))
	t.Cleanup(srv.Close)
	h.srv = srv

	status, _, body := h.get(keyConsumer, "/v1/blacklist/B00000001")
	require.Equal(t, http.StatusServiceUnavailable, status, "%s", body)
	var p httpapi.Problem
	require.NoError(t, json.Unmarshal(body, &p))
	require.Equal(t, httpapi.CodeDependencyUnavailable, p.Code)
	require.Equal(t, readapi.DependencyReplica, p.Dependency)

	var ready readapi.Readiness
	h.getJSON("", "/readyz", http.StatusServiceUnavailable, &ready)
	require.False(t, ready.Ready)
	require.Len(t, ready.Dependencies, 1)
	require.Equal(t, readapi.DependencyReplica, ready.Dependencies[0].Name)
	require.False(t, ready.Dependencies[0].OK)

	status, _, body = h.get("", "/metrics")
	require.Equal(t, http.StatusOK, status, "%s", body)
	require.Contains(t, string(body), "cardledger_postgres_replica_up 0\n")
	require.NotContains(t, string(body), "cardledger_postgres_replica_lag_seconds ")
}
