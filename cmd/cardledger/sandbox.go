package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/internal/config"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/platform"
)

// The open platform's sandbox tenant (docs/platform.md, "Sandbox"): a
// complete second set of services — event store, projections and read
// models, command service, every module's routes — built by the same
// composition root as production (buildApp, app.server) over a database
// of its own (CARDLEDGER_SANDBOX_POSTGRES_URL, always its own PostgreSQL
// event store, no ClickHouse, no replica, no sandbox of its own). It is
// opened on first use: the database is created if missing, migrated, and
// seeded with a small demo city when its event store is empty. While it is
// open, its production desk (sandbox_desk.go) takes its pending
// applications through the batch exchange with the bank and vendor
// simulators.

// Sandbox demo city: small, so that opening it stays quick.
const (
	sandboxPeople = 40
	sandboxMonths = 1
	// sandboxSeedLock serialises the seeding of instances sharing the sandbox.
	sandboxSeedLock = 7308012217016
)

// sandbox opens the tenant once, on first use; a failed open is retried
// by the next use.
type sandbox struct {
	prod *deps
	// base outlives the requests that open the tenant: its projections run
	// until close.
	base   context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	tenant *sandboxTenant
}

type sandboxTenant struct {
	d    *deps
	a    *app
	e    *echo.Echo
	wg   sync.WaitGroup
	stop context.CancelFunc
}

func newSandbox(ctx context.Context, prod *deps) *sandbox {
	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &sandbox{prod: prod, base: base, cancel: cancel}
}

// Pool is the sandbox's clients database (platform.Sandbox).
func (s *sandbox) Pool(ctx context.Context) (*pgxpool.Pool, error) {
	t, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	return t.d.pool, nil
}

// openPool is the sandbox's clients database if the tenant is open, else
// nil (nil for no sandbox too): what runs in the background opens none.
func (s *sandbox) openPool() *pgxpool.Pool {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tenant == nil {
		return nil
	}
	return s.tenant.d.pool
}

// CredentialsChanged drops the open tenant's credential cache
// (platform.Sandbox): a rotation or revocation holds at once here, as the
// revocation listener makes it hold soon on other instances.
func (s *sandbox) CredentialsChanged() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tenant != nil {
		s.tenant.a.authn.Forget()
	}
}

// open returns the tenant, opening it first if needed.
func (s *sandbox) open(ctx context.Context) (*sandboxTenant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tenant != nil {
		return s.tenant, nil
	}
	// Opening runs to its end even if the request that started it leaves.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	t, err := s.build(ctx)
	if err != nil {
		return nil, fmt.Errorf("open the sandbox: %w", err)
	}
	s.tenant = t
	return t, nil
}

func (s *sandbox) build(ctx context.Context) (*sandboxTenant, error) {
	cfg := s.prod.cfg
	if err := createDatabase(ctx, cfg.SandboxPostgresURL); err != nil {
		return nil, err
	}
	// Everything the sandbox keeps is its own. A setting that names an
	// outside party (a bank's or vendor's address) must point at the
	// built-in simulators here, never at production's counterpart.
	cfg.PostgresURL, cfg.EventStoreURL = cfg.SandboxPostgresURL, cfg.SandboxPostgresURL
	cfg.PostgresReadURL, cfg.ClickHouseURL, cfg.SandboxPostgresURL = "", "", ""
	// The payment bank: the in-process simulator. No police, province or
	// non-tax POS is called, and nobody real is sent an SMS or e-mail.
	cfg.PaymentBankURL, cfg.PoliceURL, cfg.ProvinceURL, cfg.Fees.POSURL = "", "", "", ""
	cfg.Notify = config.Notify{}
	d := &deps{cfg: cfg, log: s.prod.log}
	ok := false
	defer func() {
		if !ok {
			d.close()
		}
	}()
	if err := migratePostgres(ctx, d); err != nil {
		return nil, err
	}
	if err := seedSandbox(ctx, d); err != nil {
		return nil, err
	}
	a, err := buildApp(ctx, d)
	if err != nil {
		return nil, err
	}
	e, err := a.server(ctx)
	if err != nil {
		return nil, err
	}
	run, stop := context.WithCancel(s.base)
	t := &sandboxTenant{d: d, a: a, e: e, stop: stop}
	startProjections(run, &t.wg, d, a.runner)
	if every := cfg.SandboxProductionInterval; every > 0 {
		startSandboxDesk(run, &t.wg, a.batches, t, every, d.log)
	}
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		a.authn.Listen(run, d.pool.Config().ConnConfig, d.log)
	}()
	ok = true
	d.log.WithField("database", redactURL(cfg.PostgresURL)).Info("sandbox open")
	return t, nil
}

// seedSandbox fills an empty sandbox with the demo city of `cardledger
// seed` (the same seeder, through the real command handlers), once among
// the instances sharing it.
func seedSandbox(ctx context.Context, d *deps) error {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("seed the sandbox: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", sandboxSeedLock); err != nil {
		return fmt.Errorf("seed the sandbox: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", sandboxSeedLock) }()
	if _, seeded, err := d.store.Head(ctx); err != nil || seeded {
		return err
	}
	clock := &seed.Clock{}
	svc, err := commands.NewService(d.store, d.cfg.IDKey, clock.Now)
	if err != nil {
		return err
	}
	ingester := analytics.NewIngester(d.store, analytics.CardNumbersDirectory{Numbers: svc.CardNumbers}, time.Now)
	sum, err := seed.Run(ctx, seed.Deps{Service: svc, Clock: clock, Usage: ingester, HomeCity: d.cfg.CityCode, RandSeed: 1},
		sandboxPeople, sandboxMonths, nil)
	if err != nil {
		return fmt.Errorf("seed the sandbox: %w", err)
	}
	d.log.WithField("people", sum.People).WithField("cards", sum.Cards).Info("sandbox seeded")
	return nil
}

// createDatabase creates the database dbURL names when it does not exist,
// connecting to the server's postgres database to do so.
func createDatabase(ctx context.Context, dbURL string) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err == nil {
		return conn.Close(ctx)
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "3D000" { // invalid_catalog_name
		return fmt.Errorf("connect sandbox database: %w", err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return fmt.Errorf("sandbox database URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	u.Path = "/postgres"
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	admin, err := pgx.Connect(ctx, u.String())
	if err != nil {
		return fmt.Errorf("connect to create sandbox database %s: %w", name, err)
	}
	defer admin.Close(ctx)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // duplicate_database: another instance made it
		return nil
	}
	if err != nil {
		return fmt.Errorf("create sandbox database %s: %w", name, err)
	}
	return nil
}

// route is production's first middleware: a request signed by a sandbox
// client is served by the sandbox's own server, every other one goes on.
func (s *sandbox) route(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !platform.IsSandboxRequest(c.Request()) {
			return next(c)
		}
		t, err := s.open(c.Request().Context())
		if err != nil {
			s.prod.log.WithError(err).Error("sandbox unavailable")
			return httpapi.NewProblem(http.StatusServiceUnavailable, httpapi.CodeUnavailable, "the sandbox is unavailable; retry")
		}
		t.e.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}

func (s *sandbox) close() {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tenant; t != nil {
		t.stop()
		t.wg.Wait()
		t.a.close()
		s.tenant = nil
	}
}
