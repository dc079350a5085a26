package auth_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
)

func key32(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func storedSecret(t *testing.T, db auth.DB, name string) []byte {
	t.Helper()
	var stored []byte
	require.NoError(t, db.QueryRow(context.Background(), `SELECT hmac_secret FROM api_clients WHERE name = $1`, name).Scan(&stored))
	return stored
}

// A sealed secret is not in the table in clear, and the authenticator given
// the keys hands out the secret itself; without the keys it refuses.
func TestHMACSecretsAreSealedAtRest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	keys, err := auth.NewSecretKeys(key32(1))
	require.NoError(t, err)
	secret, err := auth.AddSealed(ctx, pool, auth.Client{Name: "hospital", Role: httpapi.RoleCounter, Auth: httpapi.MethodHMAC}, keys)
	require.NoError(t, err)

	stored := storedSecret(t, pool, "hospital")
	assert.NotContains(t, string(stored), secret)
	assert.True(t, bytes.HasPrefix(stored, []byte("sk1:")), "%q", stored)

	_, got, err := auth.NewAuthenticator(pool, -1).WithSecretKeys(keys).SigningKey(ctx, "hospital")
	require.NoError(t, err)
	assert.Equal(t, secret, string(got.Key))

	_, _, err = auth.NewAuthenticator(pool, -1).SigningKey(ctx, "hospital")
	assert.ErrorIs(t, err, auth.ErrSecretKey)
	other, err := auth.NewSecretKeys(key32(2))
	require.NoError(t, err)
	_, _, err = auth.NewAuthenticator(pool, -1).WithSecretKeys(other).SigningKey(ctx, "hospital")
	assert.ErrorIs(t, err, auth.ErrSecretKey)

	// A sealed secret copied to another client does not open there.
	_, err = auth.AddSealed(ctx, pool, auth.Client{Name: "thief", Role: httpapi.RoleAdmin, Auth: httpapi.MethodHMAC}, keys)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE api_clients SET hmac_secret = $1 WHERE name = 'thief'`, stored)
	require.NoError(t, err)
	_, _, err = auth.NewAuthenticator(pool, -1).WithSecretKeys(keys).SigningKey(ctx, "thief")
	assert.Error(t, err)
}

// Secrets stored in clear before sealing keep working, and SealSecrets
// reseals them, and those of a retired key, under the current key.
func TestSealSecretsMigratesClearAndRetiredSecrets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newPool(t)
	clear, err := auth.Add(ctx, pool, auth.Client{Name: "legacy", Role: httpapi.RoleBank, Auth: httpapi.MethodHMAC})
	require.NoError(t, err)
	assert.Equal(t, clear, string(storedSecret(t, pool, "legacy")), "Add without keys stores in clear")
	oldKeys, err := auth.NewSecretKeys(key32(1))
	require.NoError(t, err)
	retired, err := auth.AddSealed(ctx, pool, auth.Client{Name: "retired", Role: httpapi.RoleBank, Auth: httpapi.MethodHMAC}, oldKeys)
	require.NoError(t, err)
	_, err = auth.Add(ctx, pool, auth.Client{Name: "bearer", Role: httpapi.RoleBank})
	require.NoError(t, err)

	keys, err := auth.NewSecretKeys(key32(2), key32(1))
	require.NoError(t, err)
	a := auth.NewAuthenticator(pool, -1).WithSecretKeys(keys)
	for name, want := range map[string]string{"legacy": clear, "retired": retired} {
		_, got, err := a.SigningKey(ctx, name)
		require.NoError(t, err, name)
		assert.Equal(t, want, string(got.Key), "%s before resealing", name)
	}

	n, err := auth.SealSecrets(ctx, pool, keys)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	n, err = auth.SealSecrets(ctx, pool, keys)
	require.NoError(t, err)
	assert.Equal(t, 0, n, "nothing left to reseal")

	current, err := auth.NewSecretKeys(key32(2)) // the retired key is no longer needed
	require.NoError(t, err)
	a = auth.NewAuthenticator(pool, -1).WithSecretKeys(current)
	for name, want := range map[string]string{"legacy": clear, "retired": retired} {
		assert.NotContains(t, string(storedSecret(t, pool, name)), want, name)
		_, got, err := a.SigningKey(ctx, name)
		require.NoError(t, err, name)
		assert.Equal(t, want, string(got.Key), "%s after resealing", name)
	}
}
