package platform_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/platform"
	"github.com/cardledger/cardledger/platform/platformtest"
)

// The quota clock stands still inside one minute, so a minute quota cannot
// roll over in the middle of a test.
var frozen = time.Date(2026, 12, 5, 2, 0, 30, 0, time.UTC)

type harness struct {
	t     *testing.T
	srv   *httptest.Server
	pool  *pgxpool.Pool
	admin string
}

// serviceRoutes stand for the service's modules: one operation per app type.
func serviceRoutes() []httpapi.Route {
	ok := func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"ok": c.Path()}) }
	return []httpapi.Route{
		{Method: http.MethodGet, Path: "/v1/test/identity", Roles: []httpapi.Role{httpapi.RoleCounter}, Summary: "read an identity",
			AppTypes: []string{domain.AppIdentityReading}, Response: map[string]string{"ok": "x"}, Handler: ok},
		{Method: http.MethodGet, Path: "/v1/test/payment", Roles: []httpapi.Role{httpapi.RoleBank}, Summary: "pay",
			AppTypes: []string{domain.AppFinancialPayment}, Response: map[string]string{"ok": "x"}, Handler: ok},
		{Method: http.MethodGet, Path: "/v1/test/staff", Roles: []httpapi.Role{httpapi.RoleCounter}, Summary: "staff only",
			Response: map[string]string{"ok": "x"}, Handler: ok},
	}
}

func newHarness(t *testing.T, perHour int) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := testpg.NewDatabase(t)
	store := pgstoretest.OpenURL(t, url)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, auth.Migrate(ctx, pool))
	admin, err := auth.Add(ctx, pool, auth.Client{Name: "city-admin", Role: httpapi.RoleAdmin})
	require.NoError(t, err)
	api, err := platform.NewAPI(ctx, store, pool, nil, func() time.Time { return frozen })
	require.NoError(t, err)
	api.WithRegistrationsPerHour(perHour)
	tables := [][]httpapi.Route{api.Routes(), serviceRoutes()}
	api.SetRouteTables(tables...)
	log := logrus.New()
	log.SetOutput(io.Discard)
	authn := auth.NewAuthenticator(pool, -1)
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Auth: authn, Signed: authn, Log: log, AppQuota: api.Quota}, tables...))
	t.Cleanup(srv.Close)
	return &harness{t: t, srv: srv, pool: pool, admin: admin}
}

// call sends a request with a bearer key ("" for none), or signed as
// app client with secret when key is "sign:<client>:<secret>".
func (h *harness) call(method, path string, cred credential, body any) (int, map[string]any, http.Header) {
	h.t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, bytes.NewReader(raw))
	require.NoError(h.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case cred.client != "":
		nonce := make([]byte, 16)
		_, _ = rand.Read(nonce)
		require.NoError(h.t, httpapi.SignRequest(req, cred.client, []byte(cred.secret), hex.EncodeToString(nonce), time.Now()))
	case cred.key != "":
		req.Header.Set("Authorization", "Bearer "+cred.key)
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	out := map[string]any{}
	b, _ := io.ReadAll(res.Body)
	require.NoError(h.t, json.Unmarshal(b, &out), string(b))
	return res.StatusCode, out, res.Header
}

type credential struct{ key, client, secret string }

func bearer(key string) credential { return credential{key: key} }

var contact = map[string]any{"name": "王工", "phone": "13800000000"}

// registration is an organisation's registration with a new valid unified
// social credit code (Jining's region, a random organisation code): an
// organisation registers one account.
func registration(t testing.TB) map[string]any {
	return map[string]any{"name": "济宁某某信息技术有限公司", "credit_code": platformtest.NewCreditCode(t), "contact": contact}
}

// registerApproved registers an account and approves it: its id and key.
func (h *harness) registerApproved() (string, string) {
	h.t.Helper()
	status, acc, _ := h.call(http.MethodPost, "/v1/platform/accounts", credential{}, registration(h.t))
	require.Equal(h.t, http.StatusCreated, status, acc)
	require.Equal(h.t, "pending", acc["status"])
	id := acc["id"].(string)
	status, appr, _ := h.call(http.MethodPost, "/v1/platform/accounts/"+id+"/approval", bearer(h.admin), nil)
	require.Equal(h.t, http.StatusOK, status, appr)
	require.Equal(h.t, "approved", appr["account"].(map[string]any)["status"])
	return id, appr["api_key"].(string)
}

func code(body map[string]any) any { return body["code"] }

func TestIntegratorJourney(t *testing.T) {
	h := newHarness(t, 10)

	// Register → approval.
	bad := map[string]any{"name": "x", "credit_code": "91350100M000100Y44", "contact": contact}
	status, body, _ := h.call(http.MethodPost, "/v1/platform/accounts", credential{}, bad)
	require.Equal(t, http.StatusBadRequest, status, body)
	assert.Equal(t, "credit_code", body["errors"].([]any)[0].(map[string]any)["field"])
	assert.Equal(t, domain.CodeInvalidCreditCode, body["errors"].([]any)[0].(map[string]any)["code"])
	account, integrator := h.registerApproved()
	status, body, _ = h.call(http.MethodPost, "/v1/platform/accounts/"+account+"/approval", bearer(h.admin), nil)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, domain.CodeAccountDecided, code(body))
	other, otherKey := h.registerApproved()

	// App → key.
	status, body, _ = h.call(http.MethodPost, "/v1/platform/apps", bearer(h.admin), map[string]any{"name": "a",
		"type": domain.AppIdentityReading, "channels": []string{"card"}, "per_minute": 3, "per_day": 100})
	assert.Equal(t, http.StatusForbidden, status, "an administrator has no account")
	assert.Equal(t, platform.CodeAccountScope, code(body))
	status, body, _ = h.call(http.MethodPost, "/v1/platform/apps", bearer(integrator), map[string]any{"name": "门诊身份核验",
		"type": domain.AppIdentityReading, "channels": []string{"card", "ecard_qr"}, "per_minute": 3, "per_day": 100})
	require.Equal(t, http.StatusCreated, status, body)
	appID := body["app"].(map[string]any)["id"].(string)
	app := credential{client: body["client"].(string), secret: body["secret"].(string)}
	assert.Equal(t, "app-"+appID, app.client)

	// Another account sees nothing of it.
	for _, path := range []string{"/v1/platform/apps/" + appID, "/v1/platform/apps/" + appID + "/usage", "/v1/platform/accounts/" + account} {
		status, body, _ = h.call(http.MethodGet, path, bearer(otherKey), nil)
		assert.Equal(t, http.StatusForbidden, status, path)
		assert.Equal(t, platform.CodeAccountScope, code(body), path)
	}
	status, body, _ = h.call(http.MethodGet, "/v1/platform/apps", bearer(otherKey), nil)
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, body["apps"], "account %s lists no app of %s", other, account)

	// Catalogue, from the route tables.
	status, body, _ = h.call(http.MethodGet, "/v1/platform/catalogue", credential{}, nil)
	require.Equal(t, http.StatusOK, status)
	ops := map[string][]string{}
	for _, ty := range body["app_types"].([]any) {
		ty := ty.(map[string]any)
		ops[ty["type"].(string)] = []string{}
		for _, op := range ty["operations"].([]any) {
			op := op.(map[string]any)
			ops[ty["type"].(string)] = append(ops[ty["type"].(string)], op["method"].(string)+" "+op["path"].(string))
		}
	}
	assert.Equal(t, map[string][]string{domain.AppIdentityReading: {"GET /v1/test/identity"},
		domain.AppFinancialPayment: {"GET /v1/test/payment"}}, ops)

	// A call allowed, calls refused by type (spending no quota).
	status, body, _ = h.call(http.MethodGet, "/v1/test/identity", app, nil)
	assert.Equal(t, http.StatusOK, status, body)
	for _, path := range []string{"/v1/test/payment", "/v1/test/staff", "/v1/platform/apps"} {
		status, body, _ = h.call(http.MethodGet, path, app, nil)
		assert.Equal(t, http.StatusForbidden, status, path)
		assert.Equal(t, httpapi.CodeAppScope, code(body), path)
	}

	// Quota exhausted: 3 a minute.
	for range 2 {
		status, body, _ = h.call(http.MethodGet, "/v1/test/identity", app, nil)
		assert.Equal(t, http.StatusOK, status, body)
	}
	status, body, header := h.call(http.MethodGet, "/v1/test/identity", app, nil)
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, platform.CodeAppQuotaExceeded, code(body))
	assert.Equal(t, "30", header.Get("Retry-After"), "the minute window ends 30 s after the frozen clock")

	// The account reads its usage: the refused calls are not counted.
	status, body, _ = h.call(http.MethodGet, "/v1/platform/apps/"+appID+"/usage", bearer(integrator), nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, map[string]any{"start": "2026-12-05T02:00:00Z", "end": "2026-12-05T02:01:00Z", "used": 3.0, "limit": 3.0}, body["minute"])
	assert.Equal(t, map[string]any{"start": "2026-12-04T16:00:00Z", "end": "2026-12-05T16:00:00Z", "used": 3.0, "limit": 100.0}, body["day"])

	// Rotate: the old secret stops working, the new one authenticates.
	status, body, _ = h.call(http.MethodPost, "/v1/platform/apps/"+appID+"/secret", bearer(integrator), nil)
	require.Equal(t, http.StatusOK, status, body)
	rotated := credential{client: app.client, secret: body["secret"].(string)}
	status, _, _ = h.call(http.MethodGet, "/v1/test/identity", app, nil)
	assert.Equal(t, http.StatusUnauthorized, status)
	status, body, _ = h.call(http.MethodGet, "/v1/test/identity", rotated, nil)
	assert.Equal(t, http.StatusTooManyRequests, status, "authenticated, and still over its quota")

	// Revoke: the app is refused for good.
	status, body, _ = h.call(http.MethodPost, "/v1/platform/apps/"+appID+"/revocation", bearer(otherKey), nil)
	assert.Equal(t, http.StatusForbidden, status)
	status, body, _ = h.call(http.MethodPost, "/v1/platform/apps/"+appID+"/revocation", bearer(integrator), nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, true, body["revoked"])
	status, _, _ = h.call(http.MethodGet, "/v1/test/identity", rotated, nil)
	assert.Equal(t, http.StatusUnauthorized, status)
	status, body, _ = h.call(http.MethodPost, "/v1/platform/apps/"+appID+"/secret", bearer(integrator), nil)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, domain.CodeAppRevoked, code(body))
}

func TestRejectedAccountGetsNoKey(t *testing.T) {
	h := newHarness(t, 10)
	status, acc, _ := h.call(http.MethodPost, "/v1/platform/accounts", credential{}, registration(t))
	require.Equal(t, http.StatusCreated, status, acc)
	id := acc["id"].(string)
	status, body, _ := h.call(http.MethodPost, "/v1/platform/accounts/"+id+"/rejection", bearer(h.admin), map[string]any{"reason": "营业执照不符"})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "rejected", body["status"])
	assert.Nil(t, body["api_key"])
	status, body, _ = h.call(http.MethodPost, "/v1/platform/accounts/"+id+"/approval", bearer(h.admin), nil)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, domain.CodeAccountDecided, code(body))
	_, err := auth.Get(context.Background(), h.pool, "integrator-"+id)
	assert.ErrorIs(t, err, auth.ErrNoClient)
	status, body, _ = h.call(http.MethodPost, "/v1/platform/accounts/not-a-uuid/approval", bearer(h.admin), nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, domain.CodeAccountNotFound, code(body))
}

func TestRegistrationIsLimitedPerAddress(t *testing.T) {
	h := newHarness(t, 2)
	for range 2 {
		status, body, _ := h.call(http.MethodPost, "/v1/platform/accounts", credential{}, registration(t))
		require.Equal(t, http.StatusCreated, status, body)
	}
	status, body, header := h.call(http.MethodPost, "/v1/platform/accounts", credential{}, registration(t))
	assert.Equal(t, http.StatusTooManyRequests, status)
	assert.Equal(t, platform.CodeRegistrationRateLimited, code(body))
	assert.NotEmpty(t, header.Get("Retry-After"))
}

// An organisation has one account: its unified social credit code
// registered again is 409 credit_code_registered while the account is
// pending or approved (nothing recorded), however many registrations race;
// after a rejection the organisation registers again, as the same account.
func TestCreditCodeRegisteredAgain(t *testing.T) {
	h := newHarness(t, 100)
	first := registration(t)
	status, acc, _ := h.call(http.MethodPost, "/v1/platform/accounts", credential{}, first)
	require.Equal(t, http.StatusCreated, status, acc)
	id := acc["id"].(string)
	assert.Equal(t, platform.AccountIDFor(first["credit_code"].(string)), id)
	again := map[string]any{"name": "另一个名字有限公司", "credit_code": first["credit_code"], "contact": contact}
	revision := func() any {
		status, acc, _ := h.call(http.MethodGet, "/v1/platform/accounts/"+id, bearer(h.admin), nil)
		require.Equal(t, http.StatusOK, status, acc)
		return acc["revision"]
	}
	status, body, _ := h.call(http.MethodPost, "/v1/platform/accounts", credential{}, again)
	assert.Equal(t, []any{http.StatusConflict, domain.CodeCreditCodeRegistered}, []any{status, code(body)}, "pending")
	assert.Equal(t, 1.0, revision(), "nothing recorded")
	status, body, _ = h.call(http.MethodPost, "/v1/platform/accounts/"+id+"/approval", bearer(h.admin), nil)
	require.Equal(t, http.StatusOK, status, body)
	status, body, _ = h.call(http.MethodPost, "/v1/platform/accounts", credential{}, again)
	assert.Equal(t, []any{http.StatusConflict, domain.CodeCreditCodeRegistered}, []any{status, code(body)}, "approved")
	assert.Equal(t, 2.0, revision(), "nothing recorded")

	// Rejected, then registered again: the same account, pending, decided anew.
	second := registration(t)
	status, acc, _ = h.call(http.MethodPost, "/v1/platform/accounts", credential{}, second)
	require.Equal(t, http.StatusCreated, status, acc)
	rejectedID := acc["id"].(string)
	status, body, _ = h.call(http.MethodPost, "/v1/platform/accounts/"+rejectedID+"/rejection", bearer(h.admin), map[string]any{"reason": "营业执照不符"})
	require.Equal(t, http.StatusOK, status, body)
	second["name"] = "济宁某某信息技术有限公司（更正）"
	status, acc, _ = h.call(http.MethodPost, "/v1/platform/accounts", credential{}, second)
	require.Equal(t, http.StatusCreated, status, acc)
	assert.Equal(t, []any{rejectedID, "pending", second["name"], 3.0, nil}, []any{acc["id"], acc["status"], acc["name"], acc["revision"], acc["note"]})
	status, body, _ = h.call(http.MethodPost, "/v1/platform/accounts/"+rejectedID+"/approval", bearer(h.admin), nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.NotEmpty(t, body["api_key"])

	// Eight registrations of one new code at once: one account.
	racing := registration(t)
	statuses := make(chan int, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, _, _ := h.call(http.MethodPost, "/v1/platform/accounts", credential{}, racing)
			statuses <- status
		}()
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	assert.Equal(t, map[int]int{http.StatusCreated: 1, http.StatusConflict: 7}, count)
}
