package auth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// A signing client that registers its own Ed25519 key signs with it only:
// its HMAC secret is gone; a new key replaces the old; a new secret turns
// it back into an HMAC client; a revoked or bearer client gets no key.
func TestPublicKeyReplacesTheSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	_, err := auth.Add(ctx, pool, auth.Client{Name: "app-1", Role: httpapi.RoleApp, Account: "a1", AppType: "identity_reading",
		Auth: httpapi.MethodHMAC})
	require.NoError(t, err)
	first := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32)).Public().(ed25519.PublicKey)
	second := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32)).Public().(ed25519.PublicKey)

	a := auth.NewAuthenticator(pool, time.Hour)
	_, key, err := a.SigningKey(ctx, "app-1")
	require.NoError(t, err)
	assert.Equal(t, httpapi.SignatureScheme, key.Scheme, "cached as an HMAC client")

	require.NoError(t, auth.SetPublicKey(ctx, pool, "app-1", first))
	a.Forget()
	p, key, err := a.SigningKey(ctx, "app-1")
	require.NoError(t, err)
	assert.Equal(t, httpapi.Ed25519Key(first), key)
	assert.Equal(t, "a1", p.Account)
	var secret []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT hmac_secret FROM api_clients WHERE name = 'app-1'`).Scan(&secret))
	assert.Nil(t, secret, "the HMAC secret is dropped")
	c, err := auth.Get(ctx, pool, "app-1")
	require.NoError(t, err)
	assert.Equal(t, httpapi.MethodEd25519, c.Auth)

	require.NoError(t, auth.SetPublicKey(ctx, pool, "app-1", second))
	_, key, err = auth.NewAuthenticator(pool, -1).SigningKey(ctx, "app-1")
	require.NoError(t, err)
	assert.Equal(t, httpapi.Ed25519Key(second), key)

	fresh, err := auth.RotateSecret(ctx, pool, "app-1", nil)
	require.NoError(t, err)
	_, key, err = auth.NewAuthenticator(pool, -1).SigningKey(ctx, "app-1")
	require.NoError(t, err)
	assert.Equal(t, httpapi.HMACKey([]byte(fresh)), key)

	assert.Error(t, auth.SetPublicKey(ctx, pool, "app-1", first[:31]))
	_, err = auth.Add(ctx, pool, auth.Client{Name: "bearer", Role: httpapi.RoleBank})
	require.NoError(t, err)
	assert.ErrorIs(t, auth.SetPublicKey(ctx, pool, "bearer", first), auth.ErrNoClient)
	require.NoError(t, auth.Revoke(ctx, pool, "app-1"))
	assert.ErrorIs(t, auth.SetPublicKey(ctx, pool, "app-1", first), auth.ErrNoClient)
	_, _, err = auth.NewAuthenticator(pool, -1).SigningKey(ctx, "app-1")
	assert.ErrorIs(t, err, httpapi.ErrUnauthenticated)
}
