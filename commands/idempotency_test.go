package commands_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/internal/testpg"
)

func TestIdempotencyKeyLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, testpg.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, commands.Migrate(ctx, pool))
	require.NoError(t, commands.Migrate(ctx, pool), "migrate twice")
	idem := commands.NewIdempotency(pool, time.Minute)
	hash, otherHash := []byte("request-1"), []byte("request-2")

	stored, err := idem.Claim(ctx, "c1", "k", hash)
	require.NoError(t, err)
	assert.Nil(t, stored, "a new key is ours")

	_, err = idem.Claim(ctx, "c1", "k", hash)
	assert.ErrorIs(t, err, commands.ErrKeyInFlight)
	_, err = idem.Claim(ctx, "c1", "k", otherHash)
	assert.ErrorIs(t, err, commands.ErrKeyReused)

	// The first request died: after the stale period a retry takes the key over.
	_, err = pool.Exec(ctx, `UPDATE command_idempotency SET claimed_at = now() - interval '2 minutes'`)
	require.NoError(t, err)
	stored, err = idem.Claim(ctx, "c1", "k", hash)
	require.NoError(t, err)
	assert.Nil(t, stored)

	want := commands.StoredResponse{Status: 201, ETag: `"0"`, Body: []byte(`{"revision":0}`)}
	require.NoError(t, idem.Complete(ctx, "c1", "k", want))
	stored, err = idem.Claim(ctx, "c1", "k", hash)
	require.NoError(t, err)
	require.NotNil(t, stored)
	assert.Equal(t, want, *stored)

	// Released keys (5xx) can be claimed again at once.
	_, err = idem.Claim(ctx, "c2", "k", hash)
	require.NoError(t, err)
	require.NoError(t, idem.Release(ctx, "c2", "k"))
	stored, err = idem.Claim(ctx, "c2", "k", otherHash)
	require.NoError(t, err)
	assert.Nil(t, stored)
}
