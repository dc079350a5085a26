package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/cardledger/cardledger/audit"
	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/platform"
	"github.com/cardledger/cardledger/projections"
)

// runServe runs the HTTP API and, unless --projections=false, the projections.
func runServe(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	checkListen := fs.Bool("check-listen", false, "only check that the listen address is free, then exit (make run does, before printing a key)")
	d, err := parseConfig(env, fs, args)
	if err != nil {
		return err
	}
	// Bind first: a taken port is reported before anything else runs or
	// logs, naming the setting that moves it.
	ln, err := net.Listen("tcp", d.cfg.Listen)
	if err != nil {
		return fmt.Errorf("%w — set CARDLEDGER_LISTEN or --listen to a free address", err)
	}
	defer ln.Close()
	if *checkListen {
		return nil
	}
	if d.cfg.UsesDevIDKey() {
		d.log.Warn("CARDLEDGER_ID_KEY is not set: using the development key; set a secret key in production")
	}
	a, err := buildApp(ctx, d)
	if err != nil {
		return err
	}
	defer a.close()
	e, err := a.server(ctx)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Addr:              d.cfg.Listen,
		Handler:           e,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second, // above the 30 s long poll of the blacklist feed
		IdleTimeout:       120 * time.Second,
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if d.cfg.Projections {
		startProjections(ctx, &wg, d, a.runner)
		startProjections(ctx, &wg, d, a.deliveries)
	}
	startKeyListener(ctx, &wg, d)
	wg.Add(1)
	go func() { // `clients revoke` takes effect at once, not after the cache TTL
		defer wg.Done()
		a.authn.Listen(ctx, d.pool.Config().ConnConfig, d.log)
	}()
	if err := startDigests(ctx, &wg, d); err != nil {
		return err
	}
	startBatchJobs(ctx, &wg, d, a)
	startIdempotencyRetention(ctx, &wg, d)
	startVerificationRetention(ctx, &wg, d, a.codes)
	startCounterRetention(ctx, &wg, d, a.sandbox)
	if d.cfg.TLSCert != "" {
		if srv.TLSConfig, err = httpapi.ServerTLSConfig(d.cfg.TLSCert, d.cfg.TLSKey, d.cfg.TLSClientCA); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() {
		d.log.WithFields(map[string]any{"listen": d.cfg.Listen, "tls": srv.TLSConfig != nil}).Info("cardledger serving")
		if srv.TLSConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	shutdown, stop := context.WithTimeout(context.Background(), d.cfg.ShutdownGrace)
	defer stop()
	_ = srv.Shutdown(shutdown)
	cancel()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// runProject runs the projections only: a scale-out worker. Each projection
// is active in one process at a time (the runner's advisory lock); the others
// wait and take over when it dies.
func runProject(ctx context.Context, env *environment, args []string) error {
	d, err := parseConfig(env, flag.NewFlagSet("project", flag.ContinueOnError), args)
	if err != nil {
		return err
	}
	a, err := buildApp(ctx, d)
	if err != nil {
		return err
	}
	defer a.close()
	var wg sync.WaitGroup
	startProjections(ctx, &wg, d, a.runner)
	startProjections(ctx, &wg, d, a.deliveries)
	startKeyListener(ctx, &wg, d)
	wg.Wait()
	return ctx.Err()
}

func startProjections(ctx context.Context, wg *sync.WaitGroup, d *deps, r *projections.Runner) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			d.log.WithError(err).WithField("projections", r.Names()).Error("projection runner stopped")
		}
	}()
}

// startBatchJobs runs the batch job worker: the API only records a job
// (202) and this applies it in the background; one worker is active among
// the servers sharing the database, and it resumes unfinished jobs at start.
func startBatchJobs(ctx context.Context, wg *sync.WaitGroup, d *deps, a *app) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := a.batches.RunWorker(ctx, batch.WorkerOptions{Log: d.log, Metrics: a.batchMetrics})
		if err != nil && !errors.Is(err, context.Canceled) {
			d.log.WithError(err).Error("batch job worker stopped")
		}
	}()
}

// startKeyListener drops this process's cached personal-data keys as soon
// as another process erases them (piistore.Keyring.Listen).
func startKeyListener(ctx context.Context, wg *sync.WaitGroup, d *deps) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		d.keys.Listen(ctx, d.log)
	}()
}

// startDigests signs a digest of every stream's head periodically when a
// signing key is configured, so auditors can later prove history unchanged.
func startDigests(ctx context.Context, wg *sync.WaitGroup, d *deps) error {
	if d.cfg.AuditSigningKey == "" {
		d.log.Info("CARDLEDGER_AUDIT_SIGNING_KEY not set: no signed history digests")
		return nil
	}
	key, err := audit.ParseSigningKey(d.cfg.AuditSigningKey)
	if err != nil {
		return fmt.Errorf("CARDLEDGER_AUDIT_SIGNING_KEY: %w", err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		err := audit.RunDigests(ctx, audit.NewDigester(d.pool, d.store, key), d.cfg.AuditDigestInterval, d.log)
		if err != nil && !errors.Is(err, context.Canceled) {
			d.log.WithError(err).Error("history digests stopped")
		}
	}()
	return nil
}

// startIdempotencyRetention deletes idempotency records older than
// CARDLEDGER_IDEMPOTENCY_RETENTION, every tenth of the window (at most
// hourly): the records hold request hashes and responses that can concern
// a person, and a retry after the window is a new command anyway.
func startIdempotencyRetention(ctx context.Context, wg *sync.WaitGroup, d *deps) {
	retention := d.cfg.IdempotencyRetention
	startRetention(ctx, wg, d, "expired idempotency keys", max(min(retention/10, time.Hour), time.Second),
		func(ctx context.Context) (int64, error) {
			return commands.DeleteExpiredIdempotency(ctx, d.pool, retention, 1000)
		})
}

// startVerificationRetention deletes e-card verification rows once their
// codes have expired everywhere and the risk window has passed, every
// minute: one row per verified code would otherwise grow without end.
func startVerificationRetention(ctx context.Context, wg *sync.WaitGroup, d *deps, codes *ecard.Service) {
	startRetention(ctx, wg, d, "spent e-card verifications", time.Minute,
		func(ctx context.Context) (int64, error) { return codes.PruneVerifications(ctx, 1000) })
}

// startCounterRetention deletes the open platform's request counters an
// hour after their window ended, every ten minutes, in production's
// database and in the sandbox's once it is open: one row per app per
// minute would otherwise grow without end.
func startCounterRetention(ctx context.Context, wg *sync.WaitGroup, d *deps, sb *sandbox) {
	startRetention(ctx, wg, d, "ended platform request counters", 10*time.Minute,
		func(ctx context.Context) (int64, error) {
			n, err := platform.PruneCounters(ctx, d.pool, time.Now(), 1000)
			if pool := sb.openPool(); pool != nil && err == nil {
				var m int64
				m, err = platform.PruneCounters(ctx, pool, time.Now(), 1000)
				n += m
			}
			return n, err
		})
}

// startRetention runs prune at start and then every interval until ctx
// ends, logging what it deleted. Every instance runs it: deletes of rows
// past their time are idempotent, and each statement is bounded.
func startRetention(ctx context.Context, wg *sync.WaitGroup, d *deps, what string, every time.Duration,
	prune func(context.Context) (int64, error)) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n, err := prune(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				d.log.WithError(err).Warn("delete " + what)
			case n > 0:
				d.log.WithField("deleted", n).Info("deleted " + what)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}
