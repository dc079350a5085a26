package auth_test

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

func newPool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, testpg.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, auth.Migrate(ctx, pool))
	require.NoError(t, auth.Migrate(ctx, pool), "migrate twice")
	return pool
}

func TestAddedKeyAuthenticatesAsItsClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "icbc-branch-1", Role: httpapi.RoleBank, Bank: "102", Region: "440300"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(key, "clk_"))
	assert.Len(t, key, 4+43)

	a := auth.NewAuthenticator(pool, -1)
	p, err := a.Authenticate(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, httpapi.Principal{Client: "icbc-branch-1", Role: httpapi.RoleBank, Bank: "102", Region: "440300"}, p)

	_, err = a.Authenticate(ctx, key+"x")
	assert.ErrorIs(t, err, httpapi.ErrUnauthenticated)

	var row string
	require.NoError(t, pool.QueryRow(ctx, `SELECT row_to_json(c)::text FROM api_clients c`).Scan(&row))
	assert.NotContains(t, row, strings.TrimPrefix(key, "clk_"), "the key itself is never stored")
	var hashed bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT key_hash = sha256(convert_to($1, 'UTF8')) FROM api_clients`, key).Scan(&hashed))
	assert.True(t, hashed, "the table holds the key's SHA-256")
}

func TestAddRejectsDuplicatesAndUnknownRoles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	_, err := auth.Add(ctx, pool, auth.Client{Name: "window-1", Role: httpapi.RoleCounter})
	require.NoError(t, err)
	_, err = auth.Add(ctx, pool, auth.Client{Name: "window-1", Role: httpapi.RoleAuditor})
	assert.ErrorIs(t, err, auth.ErrClientExists)
	_, err = auth.Add(ctx, pool, auth.Client{Name: "root", Role: "root"})
	assert.Error(t, err)

	clients, err := auth.List(ctx, pool)
	require.NoError(t, err)
	require.Len(t, clients, 1)
	assert.Equal(t, httpapi.RoleCounter, clients[0].Role)
}

func TestRemovedClientStopsWorkingAfterCacheTTL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "pharmacy-9", Role: httpapi.RoleBlacklistConsumer})
	require.NoError(t, err)

	cachedAuth := auth.NewAuthenticator(pool, time.Hour)
	uncached := auth.NewAuthenticator(pool, -1)
	_, err = cachedAuth.Authenticate(ctx, key)
	require.NoError(t, err)

	require.NoError(t, auth.Remove(ctx, pool, "pharmacy-9"))
	assert.ErrorIs(t, auth.Remove(ctx, pool, "pharmacy-9"), auth.ErrNoClient)

	_, err = uncached.Authenticate(ctx, key)
	assert.ErrorIs(t, err, httpapi.ErrUnauthenticated)
	_, err = cachedAuth.Authenticate(ctx, key)
	assert.NoError(t, err, "within the TTL the cached entry still answers")
}

func TestHMACClientSignsAndNoncesHoldAcrossInstances(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	secret, err := auth.Add(ctx, pool, auth.Client{Name: "icbc-gw", Role: httpapi.RoleBank, Bank: "102", Auth: httpapi.MethodHMAC, RateLimit: 50})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(secret, "cls_"))

	a := auth.NewAuthenticator(pool, time.Hour)
	p, got, err := a.SigningKey(ctx, "icbc-gw")
	require.NoError(t, err)
	assert.Equal(t, httpapi.HMACKey([]byte(secret)), got)
	assert.Equal(t, httpapi.Principal{Client: "icbc-gw", Role: httpapi.RoleBank, Bank: "102", RateLimit: 50}, p)
	_, err = a.Authenticate(ctx, secret)
	assert.ErrorIs(t, err, httpapi.ErrUnauthenticated, "a signing secret is not a bearer key")

	bearerKey, err := auth.Add(ctx, pool, auth.Client{Name: "window-1", Role: httpapi.RoleCounter})
	require.NoError(t, err)
	_, _, err = a.SigningKey(ctx, "window-1")
	assert.ErrorIs(t, err, httpapi.ErrUnauthenticated, "a bearer client cannot sign")
	_, err = a.Authenticate(ctx, bearerKey)
	require.NoError(t, err)

	other := auth.NewAuthenticator(pool, time.Hour) // a second server instance
	expires := time.Now().Add(6 * time.Minute)
	require.NoError(t, a.UseNonce(ctx, "icbc-gw", "nonce-0000000001", expires))
	assert.ErrorIs(t, other.UseNonce(ctx, "icbc-gw", "nonce-0000000001", expires), httpapi.ErrNonceReplayed)
	assert.ErrorIs(t, a.UseNonce(ctx, "icbc-gw", "nonce-0000000001", expires), httpapi.ErrNonceReplayed)
	require.NoError(t, other.UseNonce(ctx, "window-1", "nonce-0000000001", expires), "nonces are per client")

	require.NoError(t, a.UseNonce(ctx, "icbc-gw", "nonce-expired-001", time.Now().Add(-time.Second)))
	assert.NoError(t, other.UseNonce(ctx, "icbc-gw", "nonce-expired-001", expires), "an expired nonce can no longer be a replay")
}

func TestConcurrentUsesOfOneNonceAdmitOne(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			errs <- auth.NewAuthenticator(pool, -1).UseNonce(ctx, "c", "nonce-race-000001", time.Now().Add(time.Minute))
		}()
	}
	ok := 0
	for range n {
		err := <-errs
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, httpapi.ErrNonceReplayed)
		}
	}
	assert.Equal(t, 1, ok)
}

func TestCertificateSubjectIdentifiesTLSClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	const subject = "CN=icbc-suzhou,O=ICBC"
	cred, err := auth.Add(ctx, pool, auth.Client{Name: "icbc-suzhou", Role: httpapi.RoleBank, Bank: "102", Auth: httpapi.MethodTLS, CertSubject: subject})
	require.NoError(t, err)
	assert.Empty(t, cred, "the certificate is the credential")
	_, err = auth.Add(ctx, pool, auth.Client{Name: "copy", Role: httpapi.RoleBank, Auth: httpapi.MethodTLS, CertSubject: subject})
	assert.ErrorIs(t, err, auth.ErrSubjectTaken)
	_, err = auth.Add(ctx, pool, auth.Client{Name: "no-subject", Role: httpapi.RoleBank, Auth: httpapi.MethodTLS})
	assert.Error(t, err)

	a := auth.NewAuthenticator(pool, -1)
	p, err := a.AuthenticateCert(ctx, &x509.Certificate{Subject: pkix.Name{CommonName: "icbc-suzhou", Organization: []string{"ICBC"}}})
	require.NoError(t, err)
	assert.Equal(t, httpapi.Principal{Client: "icbc-suzhou", Role: httpapi.RoleBank, Bank: "102", Subject: subject}, p)
	_, err = a.AuthenticateCert(ctx, &x509.Certificate{Subject: pkix.Name{CommonName: "icbc-suzhou"}})
	assert.ErrorIs(t, err, httpapi.ErrUnauthenticated)

	c, err := auth.Get(ctx, pool, "icbc-suzhou")
	require.NoError(t, err)
	assert.Equal(t, httpapi.MethodTLS, c.Auth)
	assert.Equal(t, subject, c.CertSubject)
}

func TestGrantChangesRoleAndRegion(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "op-7", Role: httpapi.RoleAuditor, Region: "320506"})
	require.NoError(t, err)
	require.NoError(t, auth.Grant(ctx, pool, "op-7", httpapi.RoleCounter, "320506"))
	p, err := auth.NewAuthenticator(pool, -1).Authenticate(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, httpapi.Principal{Client: "op-7", Role: httpapi.RoleCounter, Region: "320506"}, p)
	assert.ErrorIs(t, auth.Grant(ctx, pool, "nobody", httpapi.RoleCounter, ""), auth.ErrNoClient)
}

// A database created before signed requests and certificates is upgraded in place.
func TestMigrateUpgradesTheFirstSchema(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, testpg.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pool.Exec(ctx, `CREATE TABLE api_clients (
		name text PRIMARY KEY CHECK (name <> ''), role text NOT NULL, key_hash bytea NOT NULL UNIQUE,
		region text NOT NULL DEFAULT '', bank text NOT NULL DEFAULT '', created_at timestamptz NOT NULL DEFAULT now());
		INSERT INTO api_clients (name, role, key_hash) VALUES ('old', 'counter', sha256('clk_old'::bytea))`)
	require.NoError(t, err)
	require.NoError(t, auth.Migrate(ctx, pool))
	p, err := auth.NewAuthenticator(pool, -1).Authenticate(ctx, "clk_old")
	require.NoError(t, err)
	assert.Equal(t, "old", p.Client)
	_, err = auth.Add(ctx, pool, auth.Client{Name: "signer", Role: httpapi.RoleBank, Auth: httpapi.MethodHMAC})
	require.NoError(t, err)
}

// End to end over HTTP with the PostgreSQL authenticator: a signed request
// passes once, its replay is refused, a stale one is refused.
func TestSignedRequestsOverHTTP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	secret, err := auth.Add(ctx, pool, auth.Client{Name: "icbc-gw", Role: httpapi.RoleBank, Bank: "102", Auth: httpapi.MethodHMAC})
	require.NoError(t, err)
	a := auth.NewAuthenticator(pool, time.Minute)
	log := logrus.New()
	log.SetOutput(io.Discard)
	e := httpapi.NewServer(httpapi.Options{Auth: a, Signed: a, Certs: a, Log: log}, []httpapi.Route{{
		Method: http.MethodPost, Path: "/v1/x", Roles: []httpapi.Role{httpapi.RoleBank},
		Responses: []httpapi.Response{{Status: http.StatusOK, ContentType: "text/plain", Body: "icbc-gw hmac 102"}},
		Handler: func(c echo.Context) error {
			p, _ := httpapi.PrincipalFrom(c)
			return c.String(http.StatusOK, p.Client+" "+p.Method+" "+p.Bank)
		},
	}})
	send := func(nonce string, at time.Time) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/v1/x", strings.NewReader(`{"a":1}`))
		require.NoError(t, httpapi.SignRequest(req, "icbc-gw", []byte(secret), nonce, at))
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	rec := send("nonce-http-000001", time.Now())
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "icbc-gw hmac 102", rec.Body.String())
	rec = send("nonce-http-000001", time.Now())
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Contains(t, rec.Body.String(), httpapi.CodeNonceReplayed)
	rec = send("nonce-http-000002", time.Now().Add(-6*time.Minute))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Contains(t, rec.Body.String(), httpapi.CodeSignatureStale)
}

func TestRevokedClientIsRefusedAtOnceByAListeningAuthenticator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "counter-7", Role: httpapi.RoleCounter})
	require.NoError(t, err)
	// An hour's cache: only the revocation notification can make it forget.
	a := auth.NewAuthenticator(pool, time.Hour)
	lctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.Listen(lctx, pool.Config().ConnConfig, logrus.New()) }()
	defer func() { stop(); <-done }()
	otherKey, err := auth.Add(ctx, pool, auth.Client{Name: "probe", Role: httpapi.RoleCounter})
	require.NoError(t, err)
	_, err = a.Authenticate(ctx, otherKey)
	require.NoError(t, err)
	_, err = a.Authenticate(ctx, key)
	require.NoError(t, err, "cached now")

	require.NoError(t, auth.Revoke(ctx, pool, "counter-7"))
	require.Eventually(t, func() bool {
		_, err := a.Authenticate(ctx, key)
		return err != nil
	}, 10*time.Second, 10*time.Millisecond, "the revoked key is refused despite the hour-long cache")
	_, err = a.Authenticate(ctx, key)
	assert.ErrorIs(t, err, httpapi.ErrUnauthenticated)
	_, err = a.Authenticate(ctx, otherKey)
	assert.NoError(t, err, "other clients keep working")

	assert.ErrorIs(t, auth.Revoke(ctx, pool, "counter-7"), auth.ErrRevoked)
	assert.ErrorIs(t, auth.Revoke(ctx, pool, "nobody"), auth.ErrNoClient)
	c, err := auth.Get(ctx, pool, "counter-7")
	require.NoError(t, err)
	assert.False(t, c.RevokedAt.IsZero(), "the revocation is recorded")
	fresh := auth.NewAuthenticator(pool, -1)
	_, err = fresh.Authenticate(ctx, key)
	assert.ErrorIs(t, err, httpapi.ErrUnauthenticated, "refused without any cache too")
}

// A channel client's code is validated where clients are added, whoever
// adds them (the CLI, tests, tools), and authenticates as its scope.
func TestAddChannelAndTerminalClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "rsapp-1", Role: httpapi.RoleChannel, Channel: "rsapp"})
	require.NoError(t, err)
	p, err := auth.NewAuthenticator(pool, -1).Authenticate(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, httpapi.Principal{Client: "rsapp-1", Role: httpapi.RoleChannel, Channel: "rsapp"}, p)
	assert.Equal(t, "rsapp", p.Scope().Channel)

	key, err = auth.Add(ctx, pool, auth.Client{Name: "pharmacy-1", Role: httpapi.RoleTerminal, Agency: "P0001", Region: "320506"})
	require.NoError(t, err)
	p, err = auth.NewAuthenticator(pool, -1).Authenticate(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "P0001", p.Agency)
	assert.Equal(t, "", p.Scope().Region, "a terminal's region is where it stands, not a scope")

	for _, bad := range []auth.Client{
		{Name: "x1", Role: httpapi.RoleChannel},
		{Name: "x2", Role: httpapi.RoleChannel, Channel: "RS APP"},
		{Name: "x3", Role: httpapi.RoleChannel, Channel: "a-channel-code-too-long"},
		{Name: "x4", Role: httpapi.RoleCounter, Channel: "rsapp"},
		{Name: "x5", Role: httpapi.RoleTerminal},
		{Name: "x6", Role: httpapi.RoleBank, Agency: "P0001"},
	} {
		_, err := auth.Add(ctx, pool, bad)
		assert.Error(t, err, "%+v", bad)
	}
	clients, err := auth.List(ctx, pool)
	require.NoError(t, err)
	assert.Len(t, clients, 2)
}
