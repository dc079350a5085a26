package commands_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/internal/testpg"
)

func newIdempotencyPool(t *testing.T, ctx context.Context) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(ctx, testpg.NewDatabase(t))
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, commands.Migrate(ctx, pool))
	return pool
}

// newIdempotency is the key store of one server process.
func newIdempotency(t *testing.T, pool *pgxpool.Pool) *commands.Idempotency {
	idem := commands.NewIdempotency(pool, time.Minute)
	t.Cleanup(idem.Close)
	return idem
}

func TestIdempotencyKeyLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newIdempotencyPool(t, ctx)
	require.NoError(t, commands.Migrate(ctx, pool), "migrate twice")
	idem := newIdempotency(t, pool)
	hash, otherHash := []byte("request-1"), []byte("request-2")

	claim, stored, err := idem.Claim(ctx, "c1", "k", hash)
	require.NoError(t, err)
	assert.Nil(t, stored)
	require.NotNil(t, claim, "a new key is ours")

	_, _, err = idem.Claim(ctx, "c1", "k", hash)
	assert.ErrorIs(t, err, commands.ErrKeyInFlight, "our process lives: the claim stands")
	_, _, err = idem.Claim(ctx, "c1", "k", otherHash)
	assert.ErrorIs(t, err, commands.ErrKeyReused)

	// A request stuck in a live process: after the stale period a retry
	// takes the key over, and the stuck request can no longer release it.
	_, err = pool.Exec(ctx, `UPDATE command_idempotency SET claimed_at = now() - interval '2 minutes'`)
	require.NoError(t, err)
	takeover, stored, err := idem.Claim(ctx, "c1", "k", hash)
	require.NoError(t, err)
	assert.Nil(t, stored)
	require.NotNil(t, takeover)
	require.NoError(t, claim.Release(ctx))
	_, _, err = idem.Claim(ctx, "c1", "k", hash)
	assert.ErrorIs(t, err, commands.ErrKeyInFlight, "the stuck request released only its own claim")

	want := commands.StoredResponse{Status: 201, ETag: `"0"`, Body: []byte(`{"revision":0}`)}
	sent, err := takeover.Complete(ctx, want)
	require.NoError(t, err)
	assert.Equal(t, want, sent)
	_, stored, err = idem.Claim(ctx, "c1", "k", hash)
	require.NoError(t, err)
	require.NotNil(t, stored)
	assert.Equal(t, want, *stored)

	// The stuck request finishes last: it answers what was stored first.
	sent, err = claim.Complete(ctx, commands.StoredResponse{Status: 409, Body: []byte(`{"code":"x"}`)})
	require.NoError(t, err)
	assert.Equal(t, want, sent)

	// Released keys (5xx) can be claimed again at once.
	claim, _, err = idem.Claim(ctx, "c2", "k", hash)
	require.NoError(t, err)
	require.NoError(t, claim.Release(ctx))
	claim, stored, err = idem.Claim(ctx, "c2", "k", otherHash)
	require.NoError(t, err)
	assert.Nil(t, stored)
	assert.NotNil(t, claim)
}

// When the process holding a claim dies, its connection closes; a retry in
// another process must take the key over at once, not after the stale
// period. Here the dead process's lock connection is terminated, as the
// kernel closes it on kill -9 (cmd/cardledger's crash test kills a real
// server).
func TestIdempotencyKeyOfADeadProcessIsTakenOverAtOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := newIdempotencyPool(t, ctx)
	dying, living := newIdempotency(t, pool), newIdempotency(t, pool)
	hash := []byte("request")

	orphan, _, err := dying.Claim(ctx, "c1", "k", hash)
	require.NoError(t, err)
	require.NotNil(t, orphan)
	_, _, err = living.Claim(ctx, "c1", "k", hash)
	require.ErrorIs(t, err, commands.ErrKeyInFlight, "the claiming process lives")

	// The connection holding the dying process's lock is the one whose
	// advisory lock has the claim's owner id as second key.
	var killed int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(pg_terminate_backend(l.pid))
		FROM pg_locks AS l JOIN command_idempotency AS c ON l.objid = c.owner::oid
		WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND l.granted AND c.key = 'k'`).Scan(&killed))
	require.Equal(t, 1, killed)

	// The backend ends a moment after pg_terminate_backend returns.
	var claim *commands.Claim
	for claim == nil {
		claim, _, err = living.Claim(ctx, "c1", "k", hash)
		if errors.Is(err, commands.ErrKeyInFlight) && ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		require.NoError(t, err, "the claim of a dead process is taken over, not in flight until it goes stale")
	}

	// The orphaned request cannot free or answer the key it lost.
	require.NoError(t, orphan.Release(ctx))
	_, _, err = newIdempotency(t, pool).Claim(ctx, "c1", "k", hash)
	assert.ErrorIs(t, err, commands.ErrKeyInFlight)
	want := commands.StoredResponse{Status: 200, ETag: `"3"`, Body: []byte(`{"revision":3}`)}
	_, err = claim.Complete(ctx, want)
	require.NoError(t, err)
	sent, err := orphan.Complete(ctx, commands.StoredResponse{Status: 200, ETag: `"4"`, Body: []byte(`{"revision":4}`)})
	require.NoError(t, err)
	assert.Equal(t, want, sent)
}
