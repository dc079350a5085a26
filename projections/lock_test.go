package projections

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/testpg"
)

// A lock's session carries the short keepalive that ends it soon after its
// host goes silent (a dead host closes no socket); TCP only, as here.
func TestLockSessionEndsSoonAfterItsPeerGoesSilent(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pool := testpg.NewPool(t, testpg.NewDatabase(t))
	for _, take := range []func() (*projectionLock, error){
		func() (*projectionLock, error) { return acquireLock(ctx, pool, "keepalive-a", time.Second) },
		func() (*projectionLock, error) { return tryLock(ctx, pool, "keepalive-b") },
	} {
		l, err := take()
		require.NoError(t, err)
		require.NotNil(t, l)
		for setting, want := range map[string]string{"tcp_keepalives_idle": "1", "tcp_keepalives_interval": "1",
			"tcp_keepalives_count": "2", "tcp_user_timeout": "3000"} {
			var got string
			require.NoError(t, l.conn.QueryRow(ctx, "SHOW "+setting).Scan(&got))
			require.Equal(t, want, got, setting)
		}
		l.release()
	}
}
