package permissions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/permissions"
)

type harness struct {
	t     *testing.T
	srv   *httptest.Server
	pool  *pgxpool.Pool
	store eventstore.Store
	keys  map[string]string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := testpg.NewDatabase(t)
	store := pgstoretest.OpenURL(t, url)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, auth.Migrate(ctx, pool))
	h := &harness{t: t, pool: pool, store: store, keys: map[string]string{}}
	for _, c := range []auth.Client{
		{Name: "wuzhong-admin", Role: httpapi.RoleAdmin, Region: "320506"},
		{Name: "xiangcheng-admin", Role: httpapi.RoleAdmin, Region: "320507"},
		{Name: "suzhou-admin", Role: httpapi.RoleAdmin, Region: "320500"},
		{Name: "wuxi-admin", Role: httpapi.RoleAdmin, Region: "320200"},
		{Name: "auditor", Role: httpapi.RoleAuditor},
		{Name: "op-7", Role: httpapi.RoleAuditor, Region: "320506"},
		{Name: "op-x", Role: httpapi.RoleCounter, Region: "320507"},
	} {
		key, err := auth.Add(ctx, pool, c)
		require.NoError(t, err)
		h.keys[c.Name] = key
	}
	api, err := permissions.NewAPI(store, pool, time.Now)
	require.NoError(t, err)
	log := logrus.New()
	log.SetOutput(io.Discard)
	h.srv = httptest.NewServer(httpapi.NewServer(httpapi.Options{Auth: auth.NewAuthenticator(pool, -1), Log: log}, api.Routes()))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *harness) do(method, path, client string, body any) (int, map[string]any) {
	h.t.Helper()
	return h.doWith(nil, method, path, client, body)
}

func (h *harness) doWith(header http.Header, method, path, client string, body any) (int, map[string]any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	require.NoError(h.t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Authorization", "Bearer "+h.keys[client])
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	require.NoError(h.t, json.Unmarshal(raw, &out), string(raw))
	return res.StatusCode, out
}

func (h *harness) principal(client string) httpapi.Principal {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := auth.NewAuthenticator(h.pool, -1).Authenticate(ctx, h.keys[client])
	require.NoError(h.t, err)
	return p
}

func TestCountyRequestsCityApproves(t *testing.T) {
	h := newHarness(t)
	req := map[string]string{"operator": "op-7", "role": "counter", "region": "320506", "reason": "new counter"}

	refusals := []struct {
		name, client string
		body         map[string]string
		status       int
		code         string
	}{
		{"city admin does not request", "suzhou-admin", req, http.StatusForbidden, permissions.CodeRequesterNotCounty},
		{"admin is never delegated", "wuzhong-admin", map[string]string{"operator": "op-7", "role": "admin", "region": "320506"}, http.StatusForbidden, permissions.CodeRoleNotGrantable},
		{"another county's region", "wuzhong-admin", map[string]string{"operator": "op-7", "role": "counter", "region": "320507"}, http.StatusForbidden, httpapi.CodeScopeRegion},
		{"another county's operator", "wuzhong-admin", map[string]string{"operator": "op-x", "role": "counter", "region": "320506"}, http.StatusForbidden, httpapi.CodeScopeRegion},
		{"unknown operator", "wuzhong-admin", map[string]string{"operator": "nobody", "role": "counter", "region": "320506"}, http.StatusUnprocessableEntity, permissions.CodeOperatorUnknown},
		{"bad region", "wuzhong-admin", map[string]string{"operator": "op-7", "role": "counter", "region": "3205"}, http.StatusBadRequest, domain.CodeInvalidCommand},
		{"unknown role", "wuzhong-admin", map[string]string{"operator": "op-7", "role": "root", "region": "320506"}, http.StatusBadRequest, httpapi.CodeInvalid},
	}
	for _, tc := range refusals {
		status, p := h.do(http.MethodPost, "/v1/permission-requests", tc.client, tc.body)
		assert.Equal(t, tc.status, status, tc.name)
		assert.Equal(t, tc.code, p["code"], tc.name)
	}

	status, created := h.do(http.MethodPost, "/v1/permission-requests", "wuzhong-admin", req)
	require.Equal(t, http.StatusCreated, status, created)
	assert.Equal(t, "pending", created["status"])
	assert.Equal(t, "wuzhong-admin", created["requested_by"])
	id := created["id"].(string)
	path := "/v1/permission-requests/" + id

	status, p := h.do(http.MethodPost, path+"/approval", "xiangcheng-admin", map[string]string{})
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, permissions.CodeApproverNotCity, p["code"])
	status, p = h.do(http.MethodPost, path+"/approval", "wuxi-admin", map[string]string{})
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, httpapi.CodeScopeRegion, p["code"])
	assert.Equal(t, httpapi.RoleAuditor, h.principal("op-7").Role, "nothing granted by refusals")

	status, approved := h.do(http.MethodPost, path+"/approval", "suzhou-admin", map[string]string{"note": "ok"})
	require.Equal(t, http.StatusOK, status, approved)
	assert.Equal(t, "approved", approved["status"])
	assert.Equal(t, "suzhou-admin", approved["decided_by"])
	assert.Equal(t, httpapi.Principal{Client: "op-7", Role: httpapi.RoleCounter, Region: "320506"}, h.principal("op-7"))

	status, again := h.do(http.MethodPost, path+"/approval", "suzhou-admin", map[string]string{"note": "ok"})
	assert.Equal(t, http.StatusOK, status, "a retried approval answers as before")
	assert.Equal(t, approved, again)
	status, p = h.do(http.MethodPost, path+"/rejection", "suzhou-admin", map[string]string{"reason": "changed my mind"})
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, domain.CodePermissionDecided, p["code"])

	status, view := h.do(http.MethodGet, path, "auditor", nil)
	require.Equal(t, http.StatusOK, status)
	var types []string
	for _, s := range view["history"].([]any) {
		types = append(types, s.(map[string]any)["type"].(string))
	}
	assert.Equal(t, []string{domain.TypePermissionRequested, domain.TypePermissionApproved}, types, "both steps are events")
	status, p = h.do(http.MethodGet, path, "xiangcheng-admin", nil)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, httpapi.CodeScopeRegion, p["code"])
}

func TestRejectedRequestGrantsNothing(t *testing.T) {
	h := newHarness(t)
	status, created := h.do(http.MethodPost, "/v1/permission-requests", "wuzhong-admin",
		map[string]string{"operator": "op-7", "role": "bank", "region": "320506"})
	require.Equal(t, http.StatusCreated, status, created)
	path := "/v1/permission-requests/" + created["id"].(string)
	status, rejected := h.do(http.MethodPost, path+"/rejection", "suzhou-admin", map[string]string{"reason": "no bank role at counters"})
	require.Equal(t, http.StatusOK, status, rejected)
	assert.Equal(t, "rejected", rejected["status"])
	assert.Equal(t, "no bank role at counters", rejected["note"])
	assert.Equal(t, httpapi.RoleAuditor, h.principal("op-7").Role)
	status, p := h.do(http.MethodPost, path+"/approval", "suzhou-admin", nil)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, domain.CodePermissionDecided, p["code"])

	status, p = h.do(http.MethodGet, "/v1/permission-requests/00000000-0000-0000-0000-000000000000", "auditor", nil)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, domain.CodePermissionNotFound, p["code"])
	status, _ = h.do(http.MethodGet, "/v1/permission-requests/not-a-uuid", "auditor", nil)
	assert.Equal(t, http.StatusNotFound, status)
}

// A command retried with its Idempotency-Key is the same command: the
// request and the decision are each appended once, with event ids derived
// from the command id, and the retry answers as the first time did.
func TestRetriedPermissionCommandsAppendOnce(t *testing.T) {
	h := newHarness(t)
	body := map[string]string{"operator": "op-7", "role": "counter", "region": "320506"}
	key := http.Header{commands.HeaderIdempotencyKey: {"request-1"}}
	status, first := h.doWith(key, http.MethodPost, "/v1/permission-requests", "wuzhong-admin", body)
	require.Equal(t, http.StatusCreated, status, first)
	status, again := h.doWith(key, http.MethodPost, "/v1/permission-requests", "wuzhong-admin", body)
	require.Equal(t, http.StatusCreated, status, again)
	assert.Equal(t, first, again, "the retry names the same request")

	id := first["id"].(string)
	path := "/v1/permission-requests/" + id
	reject := http.Header{commands.HeaderIdempotencyKey: {"reject-1"}}
	status, rejected := h.doWith(reject, http.MethodPost, path+"/rejection", "suzhou-admin", map[string]string{"reason": "no"})
	require.Equal(t, http.StatusOK, status, rejected)
	status, again = h.doWith(reject, http.MethodPost, path+"/rejection", "suzhou-admin", map[string]string{"reason": "no"})
	require.Equal(t, http.StatusOK, status, again)
	assert.Equal(t, rejected, again, "the retried rejection answers as before")

	stream := domain.PermissionStreamFor(id)
	recs, err := h.store.ReadStream(context.Background(), stream, 0, 0)
	require.NoError(t, err)
	var types []string
	var ids []string
	for _, r := range recs {
		types = append(types, r.Type)
		ids = append(ids, r.ID.String())
	}
	assert.Equal(t, []string{domain.TypePermissionRequested, domain.TypePermissionRejected}, types)
	assert.Equal(t, []string{
		commands.EventID(commands.CommandIDFor("wuzhong-admin", "request-1"), stream, 0).String(),
		commands.EventID(commands.CommandIDFor("suzhou-admin", "reject-1"), stream, 0).String(),
	}, ids, "event ids derive from the command ids")
}
