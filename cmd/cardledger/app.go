package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/audit"
	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/timedstore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/config"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/unavailable"
	"github.com/cardledger/cardledger/notifications"
	"github.com/cardledger/cardledger/payments"
	"github.com/cardledger/cardledger/payments/banksim"
	"github.com/cardledger/cardledger/permissions"
	"github.com/cardledger/cardledger/platform"
	"github.com/cardledger/cardledger/projections"
	"github.com/cardledger/cardledger/projections/readmodel"
	"github.com/cardledger/cardledger/province"
	"github.com/cardledger/cardledger/readapi"
	"github.com/cardledger/cardledger/reconcile"
)

// app is the service assembled from its parts: one place that knows how the
// modules fit together (serve and project both build it).
type app struct {
	d        *deps
	ch       driver.Conn         // nil when analytics is off
	runner   *projections.Runner // every projection this process hosts
	commands *commands.API
	batches  *batch.Service      // set by server; serve runs its job worker
	authn    *auth.Authenticator // set by server; serve runs its revocation listener
	// metrics is this process's one registry: /metrics serves it.
	metrics      *prometheus.Registry
	batchMetrics *batch.WorkerMetrics // set by server, for the job worker
	// deliveries runs the outbox's projection — and the notifier, when a
	// medium is configured — on a runner of its own, so read-your-writes
	// and readiness never wait for a slow receiver, mail server or gateway.
	deliveries *projections.Runner
	// deliveryMetrics and notifyMetrics count the outbound calls (/metrics).
	deliveryMetrics *deliveries.Metrics
	notifyMetrics   *notifications.Metrics
	// deliveryKeys seal and open the outbox's signing secrets.
	deliveryKeys *auth.SecretKeys
	// ecardClock is the e-card codes' clock (expiry, key rotation); nil is
	// time.Now. Tests set it before server.
	ecardClock func() time.Time
	// codes is the e-card code service (serve prunes its spent
	// verifications).
	codes *ecard.Service
	// notifier is the notifications projection (nil: no medium configured);
	// the redelivery route sends dead letters through it.
	notifier *notifications.Projection
	// sandbox is the open platform's sandbox tenant (set by server unless
	// CARDLEDGER_SANDBOX_POSTGRES_URL is off; the sandbox's own app has none).
	sandbox *sandbox
}

// postgresProjections are the projections kept in PostgreSQL.
func postgresProjections(pool *pgxpool.Pool) []projections.Projection {
	return append(readmodel.All(pool), batch.NewReadModel(pool), audit.NewProjection(pool), payments.NewReadModel(pool))
}

// liveIdle closes a live batch of the PostgreSQL projections still holding
// one event after it, so that only a batch to which events keep coming
// (load) waits out the linger and a lone event is applied soon.
const liveIdle = 5 * time.Millisecond

// postgresRunnerOptions are the batching of the runners of PostgreSQL
// projections (read models, audit, deliveries); analytics has its own.
func postgresRunnerOptions(cfg config.Config) projections.Options {
	return projections.Options{Linger: cfg.ProjectionLinger, LingerIdle: liveIdle}
}

func buildApp(ctx context.Context, d *deps) (*app, error) {
	store, err := d.openStore(ctx)
	if err != nil {
		return nil, err
	}
	pool, err := d.openPool(ctx)
	if err != nil {
		return nil, err
	}
	a := &app{d: d, metrics: prometheus.NewRegistry()}
	a.runner = projections.NewRunner(store, pool, d.log).WithOptions(postgresRunnerOptions(d.cfg)).Add(postgresProjections(pool)...)
	a.metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if d.cfg.ClickHouseURL != "" {
		// Not Open: a ClickHouse outage at start is ridden out like one
		// while running (analytics 503, its projection retrying), not a
		// reason to refuse commands and the blacklist.
		a.ch, err = analytics.Connect(d.cfg.ClickHouseURL)
		if err != nil {
			return nil, err
		}
		a.runner.AddWithOptions(analytics.RunnerOptions(), analytics.NewProjection(a.ch, analytics.OnCluster(d.cfg.ClickHouseCluster, d.cfg.ClickHouseURL)))
	}
	if a.deliveryKeys, err = d.migrateDeliveries(ctx, pool); err != nil {
		return nil, err
	}
	if a.deliveryMetrics, err = deliveries.NewMetrics(a.metrics); err != nil {
		return nil, err
	}
	if a.notifyMetrics, err = notifications.NewMetrics(a.metrics); err != nil {
		return nil, err
	}
	a.deliveries = projections.NewRunner(store, pool, d.log).WithOptions(postgresRunnerOptions(d.cfg)).Add(a.deliveryProjection(store, pool))
	if d.cfg.Notify.Enabled() {
		head, _, err := store.Head(ctx)
		if err != nil {
			return nil, err
		}
		if err := notifications.Migrate(ctx, pool, head.Position); err != nil {
			return nil, err
		}
		a.notifier = notifier(store, pool, d.cfg.Notify, a.notifyMetrics, d.log)
		a.deliveries.Add(a.notifier)
	}
	// The read models' and the outbound runner's projections share the
	// projection series (deliveries and notifications lag among them).
	a.metrics.MustRegister(projections.Collector(a.runner, a.deliveries))
	return a, nil
}

// notifier is the projection sending notifications (docs/notifications.md)
// by the media configured; it runs beside the deliveries, on the outbound
// runner, so a slow mail server or gateway never holds up the read models.
func notifier(store eventstore.Store, pool *pgxpool.Pool, n config.Notify, m *notifications.Metrics, log logrus.FieldLogger) *notifications.Projection {
	var sms, email notifications.Sender
	if n.SMSGatewayURL != "" {
		sms = notifications.NewSMSGateway(n.SMSGatewayURL, 10*time.Second)
	}
	if n.SMTPHost != "" {
		email = notifications.SMTP{Host: n.SMTPHost, Port: n.SMTPPort, From: n.SMTPFrom,
			Username: n.SMTPUsername, Password: n.SMTPPassword, Timeout: 30 * time.Second}
	}
	rules := notifications.Rules{PickupPoints: n.PickupPoints, OperatorEmail: n.OperatorEmail}
	return notifications.NewProjection(store, pool, rules, sms, email, notifications.Options{Metrics: m}, log)
}

// deliveryProjection is the outbox's projection with the production retry
// schedule (docs/deliveries.md).
func (a *app) deliveryProjection(store eventstore.Store, pool *pgxpool.Pool) *deliveries.Projection {
	return deliveries.NewProjection(store, pool, a.deliveryKeys, deliveries.Options{AllowPrivate: a.d.cfg.DeliveryAllowPrivate, Metrics: a.deliveryMetrics}, a.d.log)
}

// server builds the HTTP server with every module's routes.
func (a *app) server(ctx context.Context) (*echo.Echo, error) {
	d := a.d
	httpMetrics, err := httpapi.NewMetrics(a.metrics)
	if err != nil {
		return nil, err
	}
	cmdMetrics, err := commands.NewMetrics(a.metrics)
	if err != nil {
		return nil, err
	}
	// Every writer (commands, batch jobs, usage ingest, permissions)
	// appends through the timed store: append latency is measured here.
	store, err := timedstore.New(d.store, a.metrics)
	if err != nil {
		return nil, err
	}
	cmds, err := commands.NewAPI(store, d.pool, d.cfg.IDKey, time.Now, d.log)
	if err != nil {
		return nil, err
	}
	cmds.WithMetrics(cmdMetrics).WithStreamCache(d.cfg.StreamCache).WithReplacementFee(d.cfg.Fees.Schedule())
	if d.keys != nil {
		// An erasure by any instance drops the holder's cached stream.
		d.keys.OnErasure(cmds.Service().Repository.Erased)
	}
	if d.idempotencyInAppends() {
		cmds.WithIdempotencyInAppends()
	}
	a.commands = cmds
	if d.cfg.ProvinceURL != "" {
		prov, err := province.NewClient(d.cfg.ProvinceURL, d.cfg.ProvinceToken, d.cfg.ProvinceTimeout)
		if err != nil {
			return nil, fmt.Errorf("CARDLEDGER_PROVINCE_URL: %w", err)
		}
		cmds.Service().UseProvince(prov)
	}
	hashKeys, err := d.requestHashKeys()
	if err != nil {
		return nil, err
	}
	cmds.WithRequestHashKeys(hashKeys[0], hashKeys[1:]...)
	if err := a.identityAndPhotos(ctx, cmds); err != nil {
		return nil, err
	}
	reads := readapi.NewAPI(d.pool, a.runner, d.cfg.IDKey, d.log).WithReadiness(a.readinessChecks(), analytics.ProjectionName).
		WithMetrics(a.metrics)
	readPool, err := d.openReadPool(ctx)
	if err != nil {
		return nil, err
	}
	if readPool != nil {
		reads.WithReplica(readPool)
		if err := a.metrics.Register(readapi.ReplicaCollector(d.pool, readPool)); err != nil {
			return nil, err
		}
	}
	routes := [][]httpapi.Route{
		cmds.Routes(),
		reads.Routes(),
		audit.NewAPI(d.pool).Routes(),
	}
	// Usage records are events; the ingester needs no ClickHouse (the
	// e-card's verifications are recorded through it either way).
	ingestMetrics, err := analytics.NewIngestMetrics(a.metrics)
	if err != nil {
		return nil, err
	}
	ingester := analytics.NewIngester(store, analytics.CardNumbersDirectory{Numbers: cmds.Service().CardNumbers}, time.Now).
		WithMetrics(ingestMetrics)
	if a.ch != nil {
		routes = append(routes, analytics.NewAPI(ingester, analytics.NewQueries(a.ch), analytics.ProjectionLag(d.store, a.ch), time.Now).
			WithScreen(analytics.Screen{CityName: d.cfg.CityName, Public: d.cfg.DashboardPublic}).Routes())
	}
	photoStore, err := d.photoStore(ctx)
	if err != nil {
		return nil, err
	}
	batches, err := batch.Open(ctx, batch.Deps{Store: store, Pool: d.pool, Commands: cmds.Service(),
		IDKey: d.cfg.IDKey, Clock: time.Now, Actor: domain.Actor{Client: "batch"}, Photos: photoStore})
	if err != nil {
		return nil, err
	}
	a.batches = batches
	if a.batchMetrics, err = batch.NewWorkerMetrics(a.metrics); err != nil {
		return nil, err
	}
	routes = append(routes, batch.NewAPI(batches).Routes())
	feeRoutes, err := feeModule(ctx, d, cmds.Service(), batches)
	if err != nil {
		return nil, err
	}
	routes = append(routes, feeRoutes)
	cmds.Service().Cardholder.FollowErasures(erasureFollowers(d, batches)...)
	perms, err := permissions.NewAPI(store, d.pool, time.Now)
	if err != nil {
		return nil, err
	}
	routes = append(routes, perms.Routes())
	codes, err := a.ecardModule(ctx, cmds.Service(), ingester)
	if err != nil {
		return nil, err
	}
	a.codes = codes
	routes = append(routes, ecard.NewAPI(codes).Routes())
	logins, err := a.ecardLoginModule(ctx, cmds.Service(), codes)
	if err != nil {
		return nil, err
	}
	routes = append(routes, ecard.NewLoginAPI(logins).Routes())
	outbox := deliveries.NewAPI(d.store, d.pool, a.deliveryKeys, d.cfg.DeliveryAllowPrivate)
	routes = append(routes, outbox.Routes())
	pays, err := payments.NewAPI(payments.Deps{Store: store, Pool: d.pool, Codes: codes, Notify: outbox,
		Bank: paymentBank(d.cfg.PaymentBankURL), Clock: time.Now, AllowPrivate: d.cfg.DeliveryAllowPrivate, Log: d.log})
	if err != nil {
		return nil, err
	}
	routes = append(routes, pays.Routes())
	routes = append(routes, notifications.NewAPI(d.pool, d.cfg.Notify.Enabled()).WithRedelivery(a.notifier).Routes())
	secrets, err := d.clientSecretKeys()
	if err != nil {
		return nil, err
	}
	// Secrets stored in clear (before sealing) or under a retired master key
	// are resealed under the current one before any is used.
	if err := auth.Migrate(ctx, d.pool); err != nil {
		return nil, err
	}
	if _, err := auth.SealSecrets(ctx, d.pool, secrets); err != nil {
		return nil, err
	}
	// Merchant reconciliation reads the payments read model.
	reconOrders, err := reconcile.NewPaymentsOrders(store, d.pool)
	if err != nil {
		return nil, err
	}
	recon, err := reconcile.NewService(ctx, reconOrders, d.pool, time.Now)
	if err != nil {
		return nil, err
	}
	routes = append(routes, reconcile.NewAPI(recon).Routes())
	// The open platform: its catalogue is made from every route table, its own included.
	plat, err := platform.NewAPI(ctx, store, d.pool, secrets, time.Now)
	if err != nil {
		return nil, err
	}
	if d.cfg.SandboxPostgresURL != "" {
		a.sandbox = newSandbox(ctx, d)
		plat.WithSandbox(a.sandbox)
	}
	routes = append(routes, plat.Routes())
	plat.SetRouteTables(routes...)
	authn := auth.NewAuthenticator(d.pool, 30*time.Second).WithSecretKeys(secrets)
	// Shared buckets: a client's limit holds however many instances it
	// spreads its requests over (README, "Running many instances").
	var rateStore httpapi.RateStore
	if d.cfg.RateLimitShared {
		rateStore = auth.NewRateBuckets(d.pool)
	}
	a.authn = authn
	plat.WithCredentialCache(authn)
	e := httpapi.NewServer(httpapi.Options{
		Auth:      authn,
		Signed:    authn,
		Certs:     authn,
		RateLimit: httpapi.RateLimit{PerSecond: d.cfg.RateLimit, Burst: d.cfg.RateBurst, ChannelPerSecond: d.cfg.ChannelRateLimit},
		Log:       d.log,
		RateStore: rateStore,
		Metrics:   httpMetrics,
		Version:   version,
		MapError:  commands.ProblemFor,
		AppQuota:  plat.Quota,
		// The document's servers: where clients reach this deployment.
		Servers: []httpapi.Server{{URL: d.cfg.ServerURL, Description: "this deployment (CARDLEDGER_SERVER_URL)"}},
		Health: func(ctx context.Context) error {
			if err := d.pool.Ping(ctx); err != nil {
				return fmt.Errorf("read-model database: %w", err)
			}
			_, _, err := d.store.Head(ctx)
			return err
		},
	}, routes...)
	if a.sandbox != nil {
		e.Pre(a.sandbox.route)
	}
	return e, nil
}

// paymentBank is the bank port at url, or the built-in simulator.
func paymentBank(url string) payments.Bank {
	if url == "" {
		return payments.NewInProcessBank(banksim.Handler(banksim.Options{}))
	}
	return payments.NewHTTPBank(url, nil)
}

// erasureFollowers are the read models that keep personal data in clear:
// every PostgreSQL read model and the batch read model. An erasure brings
// each past itself before it answers (commands.ErasureFollower); the audit
// trail and ClickHouse keep no personal data.
func erasureFollowers(d *deps, batches *batch.Service) []commands.ErasureFollower {
	ps := append(readmodel.All(d.pool), batches.ReadModel())
	out := make([]commands.ErasureFollower, len(ps))
	for i, p := range ps {
		out[i] = commands.ErasureFollower{Name: p.Name(), CatchUp: func(ctx context.Context, pos eventstore.Position) error {
			return projections.CatchUpTo(ctx, d.store, p, pos)
		}}
	}
	return out
}

// readinessChecks are the dependencies /readyz reports: the core needs
// PostgreSQL and the event store; ClickHouse only serves analytics, so its
// outage degrades readiness without taking the instance out of rotation.
func (a *app) readinessChecks() []readapi.Dependency {
	checks := []readapi.Dependency{
		{Name: unavailable.PostgreSQL, Check: a.d.pool.Ping},
		{Name: unavailable.EventStore, Check: func(ctx context.Context) error {
			_, _, err := a.d.store.Head(ctx)
			return err
		}},
	}
	if a.ch != nil {
		checks = append(checks, readapi.Dependency{Name: unavailable.ClickHouse, Optional: true, Check: a.ch.Ping})
	}
	return checks
}

func (a *app) close() {
	if a.sandbox != nil {
		a.sandbox.close()
	}
	if a.commands != nil {
		a.commands.Close()
	}
	if a.ch != nil {
		a.ch.Close()
	}
	a.d.close()
}
