package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Integrator and app clients carry their platform account (and an app its
// type) into the principal; no other role carries either.
func TestIntegratorAndAppClients(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "integrator-a1", Role: httpapi.RoleIntegrator, Account: "a1"})
	require.NoError(t, err)
	p, err := auth.NewAuthenticator(pool, -1).Authenticate(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, httpapi.Principal{Client: "integrator-a1", Role: httpapi.RoleIntegrator, Account: "a1", Method: ""}, p)

	_, err = auth.Add(ctx, pool, auth.Client{Name: "app-1", Role: httpapi.RoleApp, Account: "a1", AppType: "identity_reading",
		Auth: httpapi.MethodHMAC})
	require.NoError(t, err)
	p, _, err = auth.NewAuthenticator(pool, -1).SigningKey(ctx, "app-1")
	require.NoError(t, err)
	assert.Equal(t, "a1", p.Account)
	assert.Equal(t, "identity_reading", p.AppType)
	got, err := auth.Get(ctx, pool, "app-1")
	require.NoError(t, err)
	assert.Equal(t, "identity_reading", got.AppType)

	for _, bad := range []auth.Client{
		{Name: "y1", Role: httpapi.RoleIntegrator},
		{Name: "y2", Role: httpapi.RoleApp, Account: "a1"},
		{Name: "y3", Role: httpapi.RoleApp, AppType: "identity_reading"},
		{Name: "y4", Role: httpapi.RoleCounter, Account: "a1"},
		{Name: "y5", Role: httpapi.RoleIntegrator, Account: "a1", AppType: "identity_reading"},
	} {
		_, err := auth.Add(ctx, pool, bad)
		assert.Error(t, err, "%+v", bad)
	}
}

// A rotated secret replaces the old one; a revoked or bearer client has
// none to rotate.
func TestRotateSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	old, err := auth.Add(ctx, pool, auth.Client{Name: "signer", Role: httpapi.RoleBank, Auth: httpapi.MethodHMAC})
	require.NoError(t, err)
	fresh, err := auth.RotateSecret(ctx, pool, "signer", nil)
	require.NoError(t, err)
	assert.NotEqual(t, old, fresh)
	_, secret, err := auth.NewAuthenticator(pool, -1).SigningKey(ctx, "signer")
	require.NoError(t, err)
	assert.Equal(t, fresh, string(secret.Key))

	_, err = auth.Add(ctx, pool, auth.Client{Name: "bearer", Role: httpapi.RoleBank})
	require.NoError(t, err)
	_, err = auth.RotateSecret(ctx, pool, "bearer", nil)
	assert.ErrorIs(t, err, auth.ErrNoClient)
	require.NoError(t, auth.Revoke(ctx, pool, "signer"))
	_, err = auth.RotateSecret(ctx, pool, "signer", nil)
	assert.ErrorIs(t, err, auth.ErrNoClient)
}
