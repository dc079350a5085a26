package projections_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/devtools/seed"
)

func TestReadModelMatchesTheDomainReplay(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e.seed(t, 300, seed.HistoryOptions{})
	r := e.runner()
	e.start(t, r)
	e.waitCaughtUp(t, r)

	var holders, cards int
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT count(*) FROM readmodel.cardholders").Scan(&holders))
	require.NoError(t, e.pool.QueryRow(ctx, "SELECT count(*) FROM readmodel.cards").Scan(&cards))
	require.Equal(t, 300, holders)
	// One card each, plus a replacement for i%5==3 except the three of those
	// (68, 153, 238) that stopped after a production failure (i%17==0).
	require.Equal(t, 300+60-3, cards)
	want := expectedBlacklist(t, e.store)
	require.NotEmpty(t, want)
	require.Equal(t, want, tableBlacklist(t, e.pool))
}
