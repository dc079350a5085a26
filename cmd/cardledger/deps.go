package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/esdbstore"
	"github.com/cardledger/cardledger/eventstore/pgstore"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/config"
	"github.com/cardledger/cardledger/internal/pgpool"
)

// deps are the connections a subcommand works with. Each opener is lazy so a
// command only connects to what it uses.
type deps struct {
	cfg      config.Config
	log      *logrus.Logger
	pool     *pgxpool.Pool
	store    eventstore.Store // the event log with personal data opened (piistore)
	eventLog eventstore.Store // the event log as stored, sealed
	// storePool is the event store's own pool when it is another database
	// than the read models' (nil when they share d.pool).
	storePool *pgxpool.Pool
	// readPool is the read replica's pool (CARDLEDGER_POSTGRES_READ_URL),
	// nil without one.
	readPool *pgxpool.Pool
	keys     *piistore.Keyring
}

// parseConfig adds the common flags to fs, parses args and sets up logging.
func parseConfig(env *environment, fs *flag.FlagSet, args []string) (*deps, error) {
	// Help asked for goes to stdout (and exits 0, see run); a mistake is
	// one line on stderr naming how to get help (a usage error, exit 2)
	// rather than every common flag.
	help := wantsHelp(args)
	fs.SetOutput(io.Discard)
	if help {
		fs.SetOutput(env.stdout)
	}
	flagError := false
	fs.Usage = func() {
		flagError = true
		if help {
			fmt.Fprintf(fs.Output(), "usage of cardledger %s:\n", fs.Name())
			fs.PrintDefaults()
		}
	}
	cfg, err := config.Load(fs, args, env.getenv)
	if err != nil {
		if flagError && !errors.Is(err, flag.ErrHelp) {
			return nil, usagef("%v (run `cardledger %s -h` for the flags)", err, strings.TrimSpace(fs.Name()))
		}
		return nil, err
	}
	log, err := newLogger(cfg, env.stderr)
	if err != nil {
		return nil, err
	}
	return &deps{cfg: cfg, log: log}, nil
}

func newLogger(cfg config.Config, w io.Writer) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(w)
	level, err := logrus.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("CARDLEDGER_LOG_LEVEL: %w", err)
	}
	log.SetLevel(level)
	switch cfg.LogFormat {
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{})
	case "text":
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	default:
		return nil, fmt.Errorf("CARDLEDGER_LOG_FORMAT: want json or text, got %q", cfg.LogFormat)
	}
	return log, nil
}

// openPool connects to the read-model database (internal/pgpool: pool
// size, acquire and connect timeouts within the per-process budget).
func (d *deps) openPool(ctx context.Context) (*pgxpool.Pool, error) {
	if d.pool != nil {
		return d.pool, nil
	}
	cfg, err := pgpool.ParseConfig(d.cfg.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("CARDLEDGER_POSTGRES_URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect read-model database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect read-model database: %w", err)
	}
	d.pool = pool
	return pool, nil
}

// openStore is the event store every module uses: the adapter the URL's
// scheme selects, wrapped so that personal data is sealed on append and
// opened on read (eventstore/piistore).
func (d *deps) openStore(ctx context.Context) (eventstore.Store, error) {
	if d.store != nil {
		return d.store, nil
	}
	raw, err := d.openEventLog(ctx)
	if err != nil {
		return nil, err
	}
	keys, err := d.openKeyring(ctx)
	if err != nil {
		return nil, err
	}
	d.store = piistore.New(raw, keys)
	return d.store, nil
}

// openEventLog is the adapter itself: events exactly as stored, personal
// data sealed. Chain verification needs it (the chain hashes stored bytes).
func (d *deps) openEventLog(ctx context.Context) (eventstore.Store, error) {
	if d.eventLog != nil {
		return d.eventLog, nil
	}
	kind, err := d.cfg.EventStoreKind()
	if err != nil {
		return nil, err
	}
	var store eventstore.Store
	switch kind {
	case "postgres":
		store, err = d.openPGStore(ctx)
	case "esdb":
		store, err = esdbstore.Open(ctx, d.cfg.EventStoreURL)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s event store: %w", kind, err)
	}
	d.log.WithField("event_store", kind).Debug("event store open")
	d.eventLog = store
	return store, nil
}

// openKeyring gives the per-person data keys (table pii_data_keys in the
// read-model database) under the configured master keys.
func (d *deps) openKeyring(ctx context.Context) (*piistore.Keyring, error) {
	if d.keys != nil {
		return d.keys, nil
	}
	current, old, err := d.masterKeys()
	if err != nil {
		return nil, err
	}
	pool, err := d.openPool(ctx)
	if err != nil {
		return nil, err
	}
	if err := piistore.Migrate(ctx, pool); err != nil {
		return nil, err
	}
	if d.cfg.UsesDevMasterKey() {
		d.log.Warn("CARDLEDGER_MASTER_KEY is not set: personal data is encrypted under the development master key; set one in production")
	}
	d.keys, err = piistore.NewKeyring(pool, current, old, piistore.KeyringOptions{})
	return d.keys, err
}

// sealKeys seal one kind of secret at rest under keys derived, for
// purpose, from the master keys (current first): rotating the master key
// rotates them, and each store resealing at start-up moves its rows over.
func (d *deps) sealKeys(purpose string) (*auth.SecretKeys, error) {
	current, old, err := d.masterKeys()
	if err != nil {
		return nil, err
	}
	var olds [][]byte
	for _, k := range old {
		olds = append(olds, k.Derive(purpose))
	}
	return auth.NewSecretKeys(current.Derive(purpose), olds...)
}

// clientSecretKeys seal API clients' HMAC secrets (auth.SealSecrets).
func (d *deps) clientSecretKeys() (*auth.SecretKeys, error) {
	return d.sealKeys("api-client-hmac-secrets")
}

// deliverySecretKeys seal the signing secrets of delivery subscriptions
// and merchant notifications (deliveries.SealSecrets).
func (d *deps) deliverySecretKeys() (*auth.SecretKeys, error) {
	return d.sealKeys("delivery-signing-secrets")
}

// migrateDeliveries makes the outbox's tables and, before anything is
// delivered, seals the signing secrets stored in clear (before sealing) or
// under a retired master key; it returns the keys that open them.
func (d *deps) migrateDeliveries(ctx context.Context, pool *pgxpool.Pool) (*auth.SecretKeys, error) {
	if err := deliveries.Migrate(ctx, pool); err != nil {
		return nil, err
	}
	keys, err := d.deliverySecretKeys()
	if err != nil {
		return nil, err
	}
	if _, err := deliveries.SealSecrets(ctx, pool, keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// requestHashKeys key the request hashes of the idempotency table (current
// first). They derive from the master key, not CARDLEDGER_ID_KEY: the ID
// key is fixed forever and its keyed hash of an ID number (the cardholder
// id) outlives an erasure by design, while request bodies also hold names
// and phones; the master key is the secret that guards personal data at
// rest, and it rotates (old keys stay accepted while a rotation runs).
func (d *deps) requestHashKeys() ([][]byte, error) {
	current, old, err := d.masterKeys()
	if err != nil {
		return nil, err
	}
	const purpose = "idempotency-request-hash"
	keys := [][]byte{current.Derive(purpose)}
	for _, k := range old {
		keys = append(keys, k.Derive(purpose))
	}
	return keys, nil
}

func (d *deps) masterKeys() (current piistore.MasterKey, old []piistore.MasterKey, err error) {
	current, err = piistore.ParseMasterKey(d.cfg.MasterKey)
	if err != nil {
		return current, nil, fmt.Errorf("CARDLEDGER_MASTER_KEY / --master-key: %w", err)
	}
	for i, raw := range d.cfg.OldMasterKeys {
		k, err := piistore.ParseMasterKey(raw)
		if err != nil {
			return current, nil, fmt.Errorf("CARDLEDGER_MASTER_KEY_OLD / --master-key-old, key %d: %w", i+1, err)
		}
		old = append(old, k)
	}
	return current, old, nil
}

func (d *deps) close() {
	if d.eventLog != nil {
		d.eventLog.Close() // also what d.store wraps
	}
	if d.storePool != nil {
		d.storePool.Close()
	}
	if d.pool != nil {
		d.pool.Close()
	}
	if d.readPool != nil {
		d.readPool.Close()
	}
}

// openReadPool is the read replica's pool, or nil when none is configured
// or the URL names the primary's own database (then d.pool serves reads;
// a second pool on it would only spend the primary's connection budget).
// A replica that does not answer at start is ridden out like one that goes
// down later: reads answer 503 naming it and /readyz says so.
func (d *deps) openReadPool(ctx context.Context) (*pgxpool.Pool, error) {
	if d.readPool != nil || d.cfg.PostgresReadURL == "" {
		return d.readPool, nil
	}
	if pgpool.SameDatabase(d.cfg.PostgresReadURL, d.cfg.PostgresURL) {
		d.log.Warn("CARDLEDGER_POSTGRES_READ_URL names the primary's database: reads go to the primary")
		return nil, nil
	}
	cfg, err := pgpool.ParseReadConfig(d.cfg.PostgresReadURL)
	if err != nil {
		return nil, fmt.Errorf("CARDLEDGER_POSTGRES_READ_URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect read replica: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		d.log.WithError(err).Warn("read replica does not answer: reads answer 503 until it does")
	}
	d.readPool = pool
	return pool, nil
}

// idempotencyInAppends tells whether the commands' Idempotency-Key records
// can be written by their appends: the event store is PostgreSQL in the
// database of the idempotency table (the read models').
func (d *deps) idempotencyInAppends() bool {
	kind, err := d.cfg.EventStoreKind()
	return err == nil && kind == "postgres" && pgpool.SameDatabase(d.cfg.EventStoreURL, d.cfg.PostgresURL)
}

// openPGStore opens the PostgreSQL event store on the read models' pool
// when both URLs name one database (one budget of connections), else on a
// pool of its own.
func (d *deps) openPGStore(ctx context.Context) (*pgstore.Store, error) {
	if pgpool.SameDatabase(d.cfg.EventStoreURL, d.cfg.PostgresURL) {
		pool, err := d.openPool(ctx)
		if err != nil {
			return nil, err
		}
		return pgstore.OpenPool(ctx, pool)
	}
	cfg, err := pgpool.ParseConfig(d.cfg.EventStoreURL)
	if err != nil {
		return nil, fmt.Errorf("CARDLEDGER_EVENTSTORE_URL: %w", err)
	}
	pgstore.TuneConfig(cfg)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s, err := pgstore.OpenPool(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	d.storePool = pool
	return s, nil
}
