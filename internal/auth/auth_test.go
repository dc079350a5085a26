package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

func newPool(t *testing.T) *pgxpool.Pool {
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
