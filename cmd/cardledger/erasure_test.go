package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/analytics/chtest"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// The two people of the erasure scenario. Names and numbers are unusual
// enough that a match anywhere is a leak, not a coincidence.
type testPerson struct{ idNumber, name, phone, photo string }

var (
	erasedPerson = testPerson{"11010519491231002X", "欧阳明月", "13912345678", "photos/ouyang-secret.jpg"}
	keptPerson   = testPerson{"320505199003071336", "司马青云", "13787654321", "photos/sima-secret.jpg"}
)

func (p testPerson) secrets() []string { return []string{p.idNumber, p.name, p.phone, p.photo} }

// lockedBuffer collects log lines written from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// loggedService is the service as `serve` runs it, every log line of it
// (debug level, JSON) going to logs.
type loggedService struct {
	*service
	vars        map[string]string
	env         *environment
	stopRunners func()
}

func startLoggedService(t *testing.T, ctx context.Context, vars map[string]string, logs io.Writer) *loggedService {
	t.Helper()
	env := &environment{stdout: logs, stderr: logs, getenv: func(k string) string { return vars[k] }}
	b := boot(t, ctx, env)
	key, err := auth.Add(ctx, b.d.pool, auth.Client{Name: "erasure-admin", Role: httpapi.RoleAdmin})
	require.NoError(t, err)
	return &loggedService{service: &service{url: b.srv.URL, key: key}, vars: vars, env: env, stopRunners: b.stopProjections}
}

// get returns a GET's status and raw body.
func (s *service) get(t *testing.T, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, string(body)
}

// registerAndUse registers p, applies with a photo, issues and activates
// the card at a bank counter and reports it lost and found again.
func (s *service) registerAndUse(t *testing.T, p testPerson) (id, card string) {
	t.Helper()
	status, reg := s.do(t, "POST", "/v1/cardholders", map[string]string{
		"id_number": p.idNumber, "name": p.name, "nationality": "CHN", "region_code": "320505", "phone": p.phone,
	})
	require.Equal(t, http.StatusCreated, status, "%v", reg)
	id = reg["cardholder_id"].(string)
	status, res := s.do(t, "POST", "/v1/cardholders/"+id+"/applications",
		map[string]string{"source": "counter", "bank_code": "102", "photo_ref": p.photo})
	require.Equal(t, http.StatusCreated, status, "%v", res)
	status, res = s.do(t, "POST", "/v1/cardholders/"+id+"/instant-issuance", map[string]string{"bank_code": "102",
		"account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	require.Equal(t, http.StatusOK, status, "%v", res)
	card = res["card_no"].(string)
	for _, step := range []string{"loss", "unlock"} {
		status, res := s.do(t, "POST", "/v1/cards/"+card+"/"+step, map[string]string{"reason": "scenario"})
		require.Equal(t, http.StatusOK, status, "%s: %v", step, res)
	}
	return id, card
}

// Erasure end to end: after it the erased person's personal data appears in
// no API response, read-model table, ClickHouse table or log line, also
// after every projection is rebuilt; the history still verifies and the
// card still works. The other person is untouched, and no one's personal
// data is ever logged.
func TestErasureEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	logs := &lockedBuffer{}
	pgURL := testpg.NewDatabase(t)
	chURL := chtest.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": pgURL, "CARDLEDGER_CLICKHOUSE_URL": chURL,
		"CARDLEDGER_LOG_LEVEL": "debug", "CARDLEDGER_LOG_FORMAT": "json", "CARDLEDGER_RATE_LIMIT": "0"}
	s := startLoggedService(t, ctx, vars, logs)

	id, card := s.registerAndUse(t, erasedPerson)
	keptID, _ := s.registerAndUse(t, keptPerson)
	// Refused commands: their problems and log lines must not echo the data.
	status, res := s.do(t, "POST", "/v1/cardholders", map[string]string{"id_number": erasedPerson.idNumber[:17] + "1",
		"name": erasedPerson.name, "nationality": "CHN", "region_code": "320505", "phone": erasedPerson.phone})
	require.Equal(t, http.StatusBadRequest, status, "%v", res)
	status, res = s.do(t, "POST", "/v1/cardholders", map[string]string{"id_number": keptPerson.idNumber,
		"name": keptPerson.name, "nationality": "CHN", "region_code": "320505"})
	require.Equal(t, http.StatusConflict, status, "%v", res)
	problem, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(problem), keptPerson.idNumber)
	assert.NotContains(t, string(problem), keptPerson.name)
	status, before := s.get(t, "/v1/cardholders/"+id+"/history")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, before, erasedPerson.name, "the history shows personal data before the erasure")

	status, res = s.do(t, "POST", "/v1/cardholders/"+id+"/erasure", nil)
	require.Equal(t, http.StatusOK, status, "%v", res)
	status, res = s.do(t, "POST", "/v1/cardholders/"+id+"/erasure", nil)
	require.Equal(t, http.StatusConflict, status, "%v", res)
	assert.Equal(t, "already_erased", res["code"])
	status, res = s.do(t, "POST", "/v1/cards/"+card+"/loss", map[string]string{"reason": "after erasure"})
	require.Equal(t, http.StatusOK, status, "the card still works: %v", res)
	position := res["position"].(string)

	status, holder := s.get(t, "/v1/cardholders/"+id+"?min_position="+position)
	require.Equal(t, http.StatusOK, status, holder)
	assert.Contains(t, holder, `"name":"[erased]"`)
	assert.Contains(t, holder, `"status":"lost"`)
	responses := func() map[string]string {
		out := map[string]string{}
		for _, path := range []string{
			"/v1/cardholders/" + id, "/v1/cardholders/" + id + "/history", "/v1/cardholders/" + id + "/state",
			"/v1/cards/" + card, "/v1/cards/" + card + "/history", "/v1/cardholders/" + id + "/progress",
		} {
			status, body := s.get(t, path)
			require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
			out[path] = body
		}
		return out
	}
	noneIn := func(what string, texts map[string]string, secrets []string) {
		t.Helper()
		for where, text := range texts {
			for _, secret := range secrets {
				assert.NotContains(t, text, secret, "%s %s", what, where)
			}
		}
	}
	noneIn("response", responses(), erasedPerson.secrets())
	_, kept := s.get(t, "/v1/cardholders/"+keptID)
	assert.Contains(t, kept, keptPerson.name, "the other person keeps their data")

	// The cardholder id derives from the ID number (一人一号), so whoever
	// knows the number still finds the record, but only erased data in it.
	status, found := s.get(t, "/v1/cardholders?id_number="+erasedPerson.idNumber)
	assert.Equal(t, http.StatusOK, status)
	noneIn("lookup by ID number", map[string]string{"": found}, erasedPerson.secrets())

	waitForAnalytics(t, ctx, chURL, 2)
	assert.Contains(t, postgresTexts(t, ctx, pgURL, []string{keptPerson.name}), "readmodel.cardholders.name",
		"the scan finds what is there")
	noneIn("read model", postgresTexts(t, ctx, pgURL, erasedPerson.secrets()), erasedPerson.secrets())
	noneIn("clickhouse", clickhouseTexts(t, ctx, chURL, erasedPerson.secrets()), erasedPerson.secrets())

	s.stopRunners()
	var out bytes.Buffer
	cli := &environment{stdout: &out, stderr: logs, getenv: s.env.getenv}
	require.Equal(t, 0, run(ctx, cli, []string{"projections", "list"}))
	names := strings.Fields(out.String())
	require.Contains(t, names, "readmodel")
	rebuilt := 0
	for _, name := range names {
		// Projections that cannot be rebuilt (audit, ClickHouse analytics)
		// say so and are skipped: the scans above and below cover them.
		var stderr bytes.Buffer
		one := &environment{stdout: &out, stderr: io.MultiWriter(logs, &stderr), getenv: s.env.getenv}
		if run(ctx, one, []string{"projections", "rebuild", name}) != 0 {
			require.Contains(t, stderr.String(), "cannot be rebuilt", name)
			continue
		}
		rebuilt++
	}
	require.Contains(t, out.String(), "readmodel: rebuilt")
	require.NotZero(t, rebuilt)
	noneIn("rebuilt read model", postgresTexts(t, ctx, pgURL, erasedPerson.secrets()), erasedPerson.secrets())
	noneIn("rebuilt clickhouse", clickhouseTexts(t, ctx, chURL, erasedPerson.secrets()), erasedPerson.secrets())
	noneIn("response after rebuild", responses(), erasedPerson.secrets())
	_, kept = s.get(t, "/v1/cardholders/"+keptID)
	assert.Contains(t, kept, keptPerson.name)

	out.Reset()
	assert.Equal(t, 0, run(ctx, cli, []string{"audit", "verify", "--all"}), "history verifies: %s", out.String())

	noneIn("logs", map[string]string{"": logs.String()}, append(erasedPerson.secrets(), keptPerson.secrets()...))
	require.Contains(t, logs.String(), `"level":"debug"`, "the logger captured everything")
}

// postgresTexts returns, per column, the values of every text, JSON and
// byte column of every table in the database that contain one of secrets.
func postgresTexts(t *testing.T, ctx context.Context, url string, secrets []string) map[string]string {
	t.Helper()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
		AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'bytea', 'ARRAY')`)
	require.NoError(t, err)
	type column struct{ schema, table, name, typ string }
	var cols []column
	for rows.Next() {
		var c column
		require.NoError(t, rows.Scan(&c.schema, &c.table, &c.name, &c.typ))
		cols = append(cols, c)
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, cols)
	out := map[string]string{}
	for _, c := range cols {
		expr := pgx.Identifier{c.name}.Sanitize() + "::text"
		if c.typ == "bytea" {
			expr = "encode(" + pgx.Identifier{c.name}.Sanitize() + ", 'escape')"
		}
		for _, secret := range secrets {
			var hits []string
			q := fmt.Sprintf(`SELECT %s FROM %s WHERE position($1 in %s) > 0 OR position($2 in %s) > 0`, expr,
				pgx.Identifier{c.schema, c.table}.Sanitize(), expr, expr)
			rows, err := conn.Query(ctx, q, secret, escapeOctets(secret))
			require.NoError(t, err, q)
			for rows.Next() {
				var v string
				require.NoError(t, rows.Scan(&v))
				hits = append(hits, v)
			}
			require.NoError(t, rows.Err())
			if len(hits) > 0 {
				out[c.schema+"."+c.table+"."+c.name] += strings.Join(hits, "\n")
			}
		}
	}
	return out
}

// escapeOctets is how encode(bytea, 'escape') shows a string's non-ASCII bytes.
func escapeOctets(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c < 0x80 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\%03o`, c)
		}
	}
	return b.String()
}

// clickhouseTexts returns the values of every String column of the
// analytics database that contain one of secrets.
func clickhouseTexts(t *testing.T, ctx context.Context, url string, secrets []string) map[string]string {
	t.Helper()
	conn, err := analytics.Open(ctx, url)
	require.NoError(t, err)
	defer conn.Close()
	rows, err := conn.Query(ctx, `SELECT table, name FROM system.columns
		WHERE database = currentDatabase() AND type LIKE '%String%'`)
	require.NoError(t, err)
	var cols [][2]string
	for rows.Next() {
		var table, name string
		require.NoError(t, rows.Scan(&table, &name))
		cols = append(cols, [2]string{table, name})
	}
	rows.Close()
	require.NotEmpty(t, cols)
	out := map[string]string{}
	for _, c := range cols {
		for _, secret := range secrets {
			var n uint64
			q := fmt.Sprintf("SELECT count() FROM `%s` WHERE position(toString(`%s`), ?) > 0", c[0], c[1])
			require.NoError(t, conn.QueryRow(ctx, q, secret).Scan(&n), q)
			if n > 0 {
				out[c[0]+"."+c[1]] += fmt.Sprintf("%d rows hold %q\n", n, secret)
			}
		}
	}
	return out
}

// waitForAnalytics waits until the analytics projection knows holders people.
func waitForAnalytics(t *testing.T, ctx context.Context, url string, holders uint64) {
	t.Helper()
	conn, err := analytics.Open(ctx, url)
	require.NoError(t, err)
	defer conn.Close()
	require.Eventually(t, func() bool {
		var n uint64
		return conn.QueryRow(ctx, "SELECT count() FROM holders FINAL").Scan(&n) == nil && n >= holders
	}, time.Minute, 100*time.Millisecond)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
