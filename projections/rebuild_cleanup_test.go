package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
)

// A rebuild that dies leaves no shadow behind: the shadow holds personal
// data in clear, and nothing would drop it until the next rebuild.
func TestCancelledRebuildDropsItsShadow(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.seed(t, 50, seed.HistoryOptions{})
	r := e.runner().WithOptions(projections.Options{PageSize: 20})

	rebuildCtx, stop := context.WithCancel(ctx)
	loaded := false
	_, err := r.RebuildWith(rebuildCtx, readmodel.Name, projections.RebuildOptions{
		Progress: func(projections.RebuildProgress) { loaded = true; stop() }, // mid-load
	})
	require.Error(t, err)
	require.True(t, loaded, "the shadow had rows when the rebuild was cancelled")
	require.Equal(t, 0, e.schemas(t, ctx, "readmodel_rebuild"), "no shadow schema left")
}

// A shadow left by a rebuild whose process crashed is dropped by
// DropLeftoverShadows (migrate), when no rebuild is running.
func TestLeftoverShadowIsDroppedAtMigrate(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := e.pool.Exec(ctx, `CREATE SCHEMA readmodel_rebuild; CREATE TABLE readmodel_rebuild.cardholders (name text);
		INSERT INTO readmodel_rebuild.cardholders VALUES ('张三')`)
	require.NoError(t, err)
	require.NoError(t, e.runner().DropLeftoverShadows(ctx))
	require.Equal(t, 0, e.schemas(t, ctx, "readmodel_rebuild"))
}

func (e *env) schemas(t *testing.T, ctx context.Context, name string) int {
	t.Helper()
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, name).Scan(&n))
	return n
}
