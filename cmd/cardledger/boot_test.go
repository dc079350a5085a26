package main

import (
	"context"
	"flag"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/require"
)

// booted is the service assembled exactly as `serve` assembles it, after
// `migrate`, with its projections running and an httptest server in front.
type booted struct {
	d   *deps
	a   *app
	e   *echo.Echo
	srv *httptest.Server
	// stopProjections stops the projections (idempotent); cleanup calls it.
	stopProjections func()
}

func boot(t *testing.T, ctx context.Context, env *environment) *booted {
	t.Helper()
	require.Equal(t, 0, run(ctx, env, []string{"migrate"}))
	return bootMigrated(t, ctx, env)
}

// bootMigrated is boot on databases already migrated.
func bootMigrated(t *testing.T, ctx context.Context, env *environment) *booted {
	t.Helper()
	d, err := parseConfig(env, flag.NewFlagSet("test", flag.ContinueOnError), nil)
	require.NoError(t, err)
	a, err := buildApp(ctx, d)
	require.NoError(t, err)
	e, err := a.server(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	startProjections(runCtx, &wg, d, a.runner)
	startKeyListener(runCtx, &wg, d)
	// The batch job worker runs as in serve, apart from the projections so
	// that a test pausing them still sees batch jobs applied.
	jobsCtx, stopJobs := context.WithCancel(ctx)
	var jobs sync.WaitGroup
	startBatchJobs(jobsCtx, &jobs, d, a)
	var once sync.Once
	b := &booted{d: d, a: a, e: e, srv: httptest.NewServer(e),
		stopProjections: func() { once.Do(func() { stop(); wg.Wait() }) }}
	t.Cleanup(func() { b.srv.Close(); b.stopProjections(); stopJobs(); jobs.Wait(); a.close() })
	return b
}
