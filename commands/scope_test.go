package commands_test

import (
	"context"
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
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// Keys of scoped clients (Suzhou 320500; counties 吴中 320506 and 相城 320507).
const (
	keyCity       = "city-key"
	keyWuzhong    = "wuzhong-key"
	keyXiangcheng = "xiangcheng-key"
	keyBank102    = "bank102-key"
	keyBank103    = "bank103-key"
)

func newScopedEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := testpg.NewDatabase(t)
	store := pgstoretest.OpenURL(t, url)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, commands.Migrate(ctx, pool))
	log := logrus.New()
	log.SetOutput(io.Discard)
	api, err := commands.NewAPI(store, pool, testIDKey, time.Now, log)
	require.NoError(t, err)
	t.Cleanup(api.Close)
	auth := httpapi.StaticAuthenticator{
		keyAdmin:      {Client: "ops", Role: httpapi.RoleAdmin},
		keyCity:       {Client: "suzhou-centre", Role: httpapi.RoleCounter, Region: "320500"},
		keyWuzhong:    {Client: "wuzhong-1", Role: httpapi.RoleCounter, Region: "320506"},
		keyXiangcheng: {Client: "xiangcheng-1", Role: httpapi.RoleCounter, Region: "320507"},
		keyBank102:    {Client: "icbc", Role: httpapi.RoleBank, Bank: "102"},
		keyBank103:    {Client: "abc", Role: httpapi.RoleBank, Bank: "103"},
		keyAuditor:    {Client: "wuzhong-audit", Role: httpapi.RoleAuditor, Region: "320506"},
	}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Auth: auth, Log: log}, api.Routes()))
	t.Cleanup(srv.Close)
	return &env{t: t, store: store, srv: srv}
}

func wuzhongPerson(n int) map[string]any {
	b := registerBody(n)
	b["region_code"] = "320506"
	return b
}

// revision is the holder's stream revision as the admin sees it.
func (e *env) revision(holder string) string {
	e.t.Helper()
	r := e.do(http.MethodGet, "/v1/cardholders/"+holder+"/state", keyAdmin, nil)
	require.Equal(e.t, http.StatusOK, r.Status, string(r.Body))
	return r.Header.Get("ETag")
}

func requireDenied(t *testing.T, r response, code string) {
	t.Helper()
	require.Equal(t, http.StatusForbidden, r.Status, string(r.Body))
	assert.Equal(t, code, r.problem(t).Code)
}

func TestRegionScopeOnCommands(t *testing.T) {
	e := newScopedEnv(t)
	r := e.do(http.MethodPost, "/v1/cardholders", keyXiangcheng, wuzhongPerson(1))
	requireDenied(t, r, httpapi.CodeScopeRegion)
	r = e.do(http.MethodGet, "/v1/cardholders/"+commandsHolderID(1)+"/state", keyAdmin, nil)
	assert.Equal(t, http.StatusNotFound, r.Status, "a denied registration appends nothing")

	r = e.do(http.MethodPost, "/v1/cardholders", keyWuzhong, wuzhongPerson(1))
	require.Equal(t, http.StatusCreated, r.Status, string(r.Body))
	holder := r.command(t).CardholderID
	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank102, instantIssueBody())
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	card := r.command(t).CardNo
	before := e.revision(holder)

	for _, tc := range []struct{ name, method, path string }{
		{"loss", http.MethodPost, "/v1/cards/" + card + "/loss"},
		{"cancellation", http.MethodPost, "/v1/cards/" + card + "/cancellation"},
		{"card number", http.MethodPost, "/v1/cardholders/" + holder + "/card-number"},
		{"state", http.MethodGet, "/v1/cardholders/" + holder + "/state"},
		{"history", http.MethodGet, "/v1/cardholders/" + holder + "/history"},
		{"card history", http.MethodGet, "/v1/cards/" + card + "/history"},
	} {
		t.Run("other county: "+tc.name, func(t *testing.T) {
			var body any
			if tc.method == http.MethodPost {
				body = map[string]string{}
			}
			requireDenied(t, e.do(tc.method, tc.path, keyXiangcheng, body), httpapi.CodeScopeRegion)
		})
	}
	assert.Equal(t, before, e.revision(holder), "denials append nothing")

	r = e.do(http.MethodPost, "/v1/cards/"+card+"/temporary-loss", keyCity, map[string]string{"reason": "x"})
	require.Equal(t, http.StatusOK, r.Status, "the city covers its counties: %s", r.Body)
	r = e.do(http.MethodPost, "/v1/cards/"+card+"/unlock", keyWuzhong, map[string]string{"reason": "found"})
	require.Equal(t, http.StatusOK, r.Status, "the county covers its own: %s", r.Body)
	r = e.do(http.MethodGet, "/v1/cardholders/"+holder+"/history", keyAuditor, nil)
	require.Equal(t, http.StatusOK, r.Status, "a county auditor reads its county: %s", r.Body)
}

func TestBankScopeOnCommands(t *testing.T) {
	e := newScopedEnv(t)
	holder := e.do(http.MethodPost, "/v1/cardholders", keyWuzhong, wuzhongPerson(2)).command(t).CardholderID

	r := e.do(http.MethodPost, "/v1/cardholders/"+holder+"/applications", keyBank103, map[string]string{"bank_code": "102", "source": "bank"})
	requireDenied(t, r, httpapi.CodeScopeBank)
	assert.Equal(t, `"0"`, e.revision(holder), "an application for another bank is refused before appending")

	r = e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank102,
		map[string]string{"account_no": testAccountNo, "chip_id": testChipID})
	require.Equal(t, http.StatusOK, r.Status, string(r.Body))
	card := r.command(t).CardNo
	before := e.revision(holder)

	requireDenied(t, e.do(http.MethodPost, "/v1/cards/"+card+"/loss", keyBank103, map[string]string{}), httpapi.CodeScopeBank)
	requireDenied(t, e.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", keyBank103, map[string]string{}), httpapi.CodeScopeBank)
	assert.Equal(t, before, e.revision(holder))
	r = e.do(http.MethodPost, "/v1/cards/"+card+"/loss", keyBank102, map[string]string{})
	assert.Equal(t, http.StatusOK, r.Status, string(r.Body))
}

// commandsHolderID is the id person n gets under the test key.
func commandsHolderID(n int) string {
	return domain.CardholderIDFor(testIDKey, idNumber(n))
}
