package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// Three `serve` instances (projections off) and two `project` workers on
// one database, as "Running many instances" in the README describes them:
// clients spread their commands over the three servers, each step of a
// card's life on another one; a read with min_position on any server sees
// a write made through another; a client's rate limit holds across the
// three (shared buckets); exactly one worker runs each projection; and the
// read models equal a rebuild from the event log.
func TestThreeServersAndTwoProjectors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dbURL := testpg.NewDatabase(t)
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": dbURL, "CARDLEDGER_LOG_LEVEL": "warn"}
	getenv := func(k string) string { return vars[k] }
	require.Equal(t, 0, run(ctx, &environment{stdout: io.Discard, stderr: io.Discard, getenv: getenv}, []string{"migrate"}))
	pool := testpg.NewPool(t, dbURL)
	key, err := auth.Add(ctx, pool, auth.Client{Name: "spread", Role: httpapi.RoleAdmin, RateLimit: 10_000})
	require.NoError(t, err)
	// One request per 1,000 s: the first passes, every other is refused,
	// whichever server it reaches (default CARDLEDGER_RATE_LIMIT_SCOPE).
	slow, err := auth.Add(ctx, pool, auth.Client{Name: "slow", Role: httpapi.RoleCounter, RateLimit: 0.001})
	require.NoError(t, err)

	var urls []string
	for i := range 3 {
		s := startInstance(t, ctx, dbURL, fmt.Sprintf("serve-%d", i+1), map[string]string{"CARDLEDGER_PROJECTIONS": "false"}, "serve")
		urls = append(urls, s.url)
	}
	workers := map[string]*instance{}
	for i := range 2 {
		p := startInstance(t, ctx, dbURL, fmt.Sprintf("project-%d", i+1), nil, "project")
		workers[p.app] = p
	}

	var codes []int
	for i := range 6 {
		status, _, err := call(ctx, http.MethodGet, urls[i%3]+"/v1/cards/A00000000/history", slow, nil)
		require.NoError(t, err)
		codes = append(codes, status)
	}
	require.Equal(t, []int{404, 429, 429, 429, 429, 429}, codes, "one bucket for the three servers (404: no such card)")

	// Read-your-writes across instances: a loss sent to one server is
	// listed by the next one at the loss's position.
	for n := 0; n < 6; n += 3 {
		card, lost, position, err := lifecycle(ctx, urls, key, 900_000+n) // n%3 == 0: lost
		require.NoError(t, err)
		require.True(t, lost)
		for _, u := range urls {
			status, listed, err := call(ctx, http.MethodGet, u+"/v1/blacklist/"+card+"?min_position="+position, key, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status, "%v", listed)
			require.Equal(t, true, listed["listed"], "%s on %s", card, u)
		}
	}

	l := startLoad(ctx, urls, key, 6)
	time.Sleep(5 * time.Second)
	l.stop(t)
	require.NotEmpty(t, l.cards)
	h := head(t, ctx, getenv, l.last)
	waitCaughtUp(t, ctx, pool, h)

	// Each projection is run by one worker, and every worker is one of ours.
	byWorker := map[string][]string{}
	for name := range readModels {
		app := lockHolder(t, ctx, pool, name)
		require.NotNil(t, workers[app], "%s is run by %q", name, app)
		byWorker[app] = append(byWorker[app], name)
	}
	for app := range byWorker {
		sort.Strings(byWorker[app])
	}
	t.Logf("%d cards through 3 servers; projections by worker: %v", len(l.cards), byWorker)

	// Every card is readable on every server, as the load left it.
	for card, lost := range l.cards {
		for _, u := range urls {
			status, listed, err := call(ctx, http.MethodGet, u+"/v1/blacklist/"+card, key, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, status, "%v", listed)
			require.Equal(t, lost, listed["listed"], "%s on %s", card, u)
		}
	}
	require.Equal(t, len(l.cards)+2, count(t, ctx, pool, "SELECT count(*) FROM readmodel.cards"), "cards in the read model")
	require.Equal(t, l.lost()+2, count(t, ctx, pool, "SELECT count(*) FROM readmodel.blacklist"), "listed cards")

	for _, p := range workers {
		p.sigkill(t)
	}
	sameAsRebuild(t, ctx, pool, getenv)
}
