package main

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/netcut"
	"github.com/cardledger/cardledger/internal/testpg"
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
	first := holderRegion + "19800101" + strconv.Itoa(100+n)
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
			case route == "GET /openapi.json":
				assert.Equal(t, http.StatusOK, a.status)
			case a.status == http.StatusBadRequest, a.status == http.StatusForbidden:
				// Refusals that need no database (the role, an empty
				// upload, the example's export kind) may still come first.
			default:
				assertUnavailable(t, a, "", route)
			}
		}
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
