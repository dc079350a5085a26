package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/config"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// sandboxRig is a production server (PostgreSQL only) whose sandbox is
// the default one: database "<name>_sandbox" on the same server, which
// the server creates on first use (testpg drops it with the test's).
type sandboxRig struct {
	t       *testing.T
	ctx     context.Context
	b       *booted
	sandbox string // the sandbox database's URL
	admin   string
}

func startSandboxRig(t *testing.T) *sandboxRig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	dbURL := testpg.NewDatabase(t)
	sandboxURL, err := config.SandboxURLOf(dbURL)
	require.NoError(t, err)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL, "CARDLEDGER_LOG_LEVEL": "error", "CARDLEDGER_RATE_LIMIT": "0"}
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	require.Equal(t, 0, run(ctx, env, []string{"migrate"}))
	d, err := parseConfig(env, flag.NewFlagSet("test", flag.ContinueOnError), nil)
	require.NoError(t, err)
	require.Equal(t, sandboxURL, d.cfg.SandboxPostgresURL)
	a, err := buildApp(ctx, d)
	require.NoError(t, err)
	e, err := a.server(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	startProjections(runCtx, &wg, d, a.runner)
	r := &sandboxRig{t: t, ctx: ctx, sandbox: sandboxURL,
		b: &booted{d: d, a: a, e: e, srv: httptest.NewServer(e), stopProjections: func() { stop(); wg.Wait() }}}
	t.Cleanup(func() { r.b.srv.Close(); r.b.stopProjections(); a.close() })
	r.admin, err = auth.Add(ctx, d.pool, auth.Client{Name: "admin", Role: httpapi.RoleAdmin})
	require.NoError(t, err)
	return r
}

// cred is how a call authenticates: a bearer key, or a signing client
// (with its HMAC secret, or its Ed25519 key when priv is set).
type cred struct {
	key, client, secret string
	priv                ed25519.PrivateKey
}

func (r *sandboxRig) call(method, path string, c cred, body any) (int, map[string]any) {
	r.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		raw, err = json.Marshal(body)
		require.NoError(r.t, err)
	}
	req, err := http.NewRequestWithContext(r.ctx, method, r.b.srv.URL+path, bytes.NewReader(raw))
	require.NoError(r.t, err)
	req.Header.Set("Content-Type", "application/json")
	switch {
	case c.client != "" && c.priv != nil:
		nonce := make([]byte, 16)
		_, _ = rand.Read(nonce)
		require.NoError(r.t, httpapi.SignRequestEd25519(req, c.client, c.priv, hex.EncodeToString(nonce), time.Now()))
	case c.client != "":
		nonce := make([]byte, 16)
		_, _ = rand.Read(nonce)
		require.NoError(r.t, httpapi.SignRequest(req, c.client, []byte(c.secret), hex.EncodeToString(nonce), time.Now()))
	case c.key != "":
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(r.t, err)
	out := map[string]any{}
	if len(b) > 0 {
		require.NoError(r.t, json.Unmarshal(b, &out), "%s %s: %s", method, path, b)
	}
	return res.StatusCode, out
}

// app registers and approves an account and creates an identity-reading
// app: its id, production credential and sandbox credential.
func (r *sandboxRig) app() (id string, prod, sandbox cred) {
	r.t.Helper()
	st, acc := r.call(http.MethodPost, "/v1/platform/accounts", cred{}, map[string]any{"name": "济宁某某信息技术有限公司",
		"credit_code": newCreditCode(r.t), "contact": map[string]any{"name": "王工", "phone": "13800000000"}})
	require.Equal(r.t, http.StatusCreated, st, "%v", acc)
	st, appr := r.call(http.MethodPost, "/v1/platform/accounts/"+acc["id"].(string)+"/approval", cred{key: r.admin}, nil)
	require.Equal(r.t, http.StatusOK, st, "%v", appr)
	st, app := r.call(http.MethodPost, "/v1/platform/apps", cred{key: appr["api_key"].(string)}, map[string]any{"name": "门诊身份核验",
		"type": domain.AppIdentityReading, "channels": []string{"card"}, "per_minute": 600, "per_day": 10000})
	require.Equal(r.t, http.StatusCreated, st, "%v", app)
	id = app["app"].(map[string]any)["id"].(string)
	sb := app["sandbox"].(map[string]any)
	require.Equal(r.t, "sandbox-app-"+id, sb["client"])
	return id, cred{client: app["client"].(string), secret: app["secret"].(string)},
		cred{client: sb["client"].(string), secret: sb["secret"].(string)}
}

// fingerprint is the content of a database's event log and read models:
// per table, its row count and an md5 of its rows.
func fingerprint(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT table_schema || '.' || table_name FROM information_schema.tables
		WHERE (table_schema = 'readmodel' OR table_name IN ('eventstore_events', 'platform_apps', 'platform_counters', 'api_clients'))
		AND table_type = 'BASE TABLE' ORDER BY 1`)
	require.NoError(t, err)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Contains(t, tables, "public.eventstore_events")
	require.Contains(t, tables, "readmodel.cardholders")
	out := map[string]string{}
	for _, tbl := range tables {
		var n int
		var sum *string
		require.NoError(t, pool.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM %s t`, tbl)).Scan(&n, &sum))
		s := ""
		if sum != nil {
			s = *sum
		}
		out[tbl] = fmt.Sprintf("%d rows %s", n, s)
	}
	return out
}

// TestSandboxCallsNeverTouchProduction: an app's sandbox credential
// registers a holder and reports a seeded demo card temporarily lost in the
// sandbox tenant (created, migrated and seeded on first use), reads it back
// there; production's event log, read models, clients and counters are
// byte-for-byte unchanged, and production — the app's production
// credential, an administrator — cannot see the sandbox's data. The
// sandbox keeps the same rules (app_scope), and its credential rotates
// and is revoked with the app's own.
func TestSandboxCallsNeverTouchProduction(t *testing.T) {
	r := startSandboxRig(t)
	ctx := r.ctx
	started := time.Now()
	appID, prod, sb := r.app() // the first app opens the sandbox: create, migrate, seed
	t.Logf("account, approval and first app, opening the sandbox: %s", time.Since(started).Round(time.Millisecond))

	// Production at rest: its read model has applied its whole log.
	head := pgstoretest.CommittedHead(t, r.b.d.pool)
	st, body := r.call(http.MethodGet, "/v1/blacklist/A00000000?min_position="+head.String(), cred{key: r.admin}, nil)
	require.Equal(t, http.StatusOK, st, "%v", body)
	before := fingerprint(t, ctx, r.b.d.pool)

	sandboxPool := testpg.NewPool(t, r.sandbox)
	var card string
	require.Eventually(t, func() bool {
		err := sandboxPool.QueryRow(ctx, `SELECT card_no FROM readmodel.cards WHERE status = 'active' AND is_current ORDER BY card_no LIMIT 1`).Scan(&card)
		return err == nil
	}, time.Minute, 50*time.Millisecond, "the sandbox's demo holders reach its read model")

	st, reg := r.call(http.MethodPost, "/v1/cardholders", sb, map[string]any{"id_number": "11010519491231002X", "name": "张三",
		"sex": "female", "nationality": "CHN", "region_code": "320506"})
	require.Equal(t, http.StatusCreated, st, "%v", reg)
	holder := reg["cardholder_id"].(string)
	st, lost := r.call(http.MethodPost, "/v1/cards/"+card+"/temporary-loss", sb, map[string]any{"reason": "试用"})
	require.Equal(t, http.StatusOK, st, "%v", lost)
	st, listed := r.call(http.MethodGet, "/v1/blacklist/"+card+"?min_position="+lost["position"].(string), sb, nil)
	require.Equal(t, http.StatusOK, st, "%v", listed)
	assert.Equal(t, true, listed["listed"], "the sandbox reads its own write")
	st, p := r.call(http.MethodGet, "/v1/cardholders/"+holder, sb, nil)
	assert.Equal(t, http.StatusForbidden, st, "the sandbox keeps the app's type rules: %v", p)
	assert.Equal(t, httpapi.CodeAppScope, p["code"])

	// Production sees none of it (its own reads below spend its counters).
	assert.Equal(t, before, fingerprint(t, ctx, r.b.d.pool), "production's log, read models, clients and counters are unchanged")
	st, listed = r.call(http.MethodGet, "/v1/blacklist/"+card, prod, nil)
	require.Equal(t, http.StatusOK, st, "%v", listed)
	assert.Equal(t, false, listed["listed"], "the production credential does not see the sandbox's loss")
	st, p = r.call(http.MethodGet, "/v1/cardholders/"+holder, cred{key: r.admin}, nil)
	assert.Equal(t, http.StatusNotFound, st, "the sandbox's holder is not production's: %v", p)
	var sandboxEvents int
	require.NoError(t, sandboxPool.QueryRow(ctx, `SELECT count(*) FROM eventstore_events WHERE stream = $1`, domain.StreamFor(holder)).Scan(&sandboxEvents))
	assert.Equal(t, 1, sandboxEvents, "the registration is in the sandbox's log")

	// A production credential is no sandbox credential and the reverse.
	st, p = r.call(http.MethodGet, "/v1/blacklist/"+card, cred{client: sb.client, secret: prod.secret}, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "%v", p)

	// Rotation gives a new sandbox secret and ends the old one; revocation ends it.
	st, rot := r.call(http.MethodPost, "/v1/platform/apps/"+appID+"/secret", cred{key: r.admin}, nil)
	require.Equal(t, http.StatusOK, st, "%v", rot)
	fresh := cred{client: sb.client, secret: rot["sandbox"].(map[string]any)["secret"].(string)}
	require.NotEqual(t, sb.secret, fresh.secret)
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, sb, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "the old sandbox secret")
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, fresh, nil)
	assert.Equal(t, http.StatusOK, st, "the rotated sandbox secret")

	// The app's own Ed25519 key: the sandbox client checks the same key,
	// and its HMAC secret ends with production's.
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	st, registered := r.call(http.MethodPut, "/v1/platform/apps/"+appID+"/public-key", cred{key: r.admin},
		map[string]any{"public_key": base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))})
	require.Equal(t, http.StatusOK, st, "%v", registered)
	assert.Equal(t, sb.client, registered["sandbox_client"])
	keyed := cred{client: sb.client, priv: priv}
	st, p = r.call(http.MethodGet, "/v1/blacklist/"+card, keyed, nil)
	assert.Equal(t, http.StatusOK, st, "the sandbox client signs with the app's key: %v", p)
	st, p = r.call(http.MethodGet, "/v1/blacklist/"+card, cred{client: prod.client, priv: priv}, nil)
	assert.Equal(t, http.StatusOK, st, "and so does the production client: %v", p)
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, fresh, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "the sandbox's HMAC secret")

	st, _ = r.call(http.MethodPost, "/v1/platform/apps/"+appID+"/revocation", cred{key: r.admin}, nil)
	require.Equal(t, http.StatusOK, st)
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, fresh, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "the revoked app's sandbox credential")
	st, _ = r.call(http.MethodGet, "/v1/blacklist/"+card, keyed, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "the revoked app's sandbox key")
}
