// Package config is the one place cardledger reads its configuration:
// environment variables first, then command-line flags that override them.
// Every setting is listed in Settings (and in the README's table).
package config

import (
	"encoding/hex"
	"flag"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// clusterName is what a ClickHouse cluster name may be: it is spliced into DDL.
var clusterName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Config holds every setting of the cardledger binary.
type Config struct {
	Listen      string
	PostgresURL string
	// PostgresReadURL is a streaming replica of PostgresURL's server that
	// serves the read API's queries; empty: the primary serves them.
	PostgresReadURL string
	EventStoreURL   string
	ClickHouseURL   string
	// ClickHouseCluster names the cluster (remote_servers) the analytics
	// tables live on: replicated local tables and Distributed tables over
	// them; empty: the one server of ClickHouseURL.
	ClickHouseCluster string
	IDKey             []byte // key of the keyed hash that turns an ID number into a cardholder id
	CityCode          string // prefecture this system serves, GB/T 2260
	CityName          string // its name, shown on the dashboard
	// DashboardPublic serves the dashboard's data without a key; otherwise
	// it needs an analyst key or a display client's token.
	DashboardPublic bool
	LogLevel        string
	LogFormat       string // json or text
	Projections     bool   // run projections inside serve
	// ProjectionLinger is how long a live batch of the PostgreSQL
	// projections waits for more events after its first (projections.Options.Linger).
	ProjectionLinger time.Duration
	ShutdownGrace    time.Duration
	// RateLimitShared keeps the buckets in PostgreSQL for every instance
	// (CARDLEDGER_RATE_LIMIT_SCOPE=cluster); false: per instance.
	RateLimitShared bool

	TLSCert     string  // PEM certificate; set with TLSKey to serve HTTPS
	TLSKey      string  // PEM private key
	TLSClientCA string  // PEM bundle of CAs whose client certificates identify clients
	RateLimit   float64 // requests per second per client and instance; 0 = off
	RateBurst   int     // bucket size; 0 = one second's worth
	// ChannelRateLimit is the rate of one e-card channel, all its clients
	// sharing one bucket (per instance); 0 = RateLimit.
	ChannelRateLimit float64
	// DeliveryAllowPrivate lets subscriptions deliver to loopback and
	// private addresses (make run and the tests); off, they are refused.
	DeliveryAllowPrivate bool
	// PaymentBankURL is the payment bank port (payments.HTTPBank); empty:
	// the built-in bank simulator, in process.
	PaymentBankURL string
	// ProvinceURL is the provincial card database (省持卡库); empty: none,
	// first issues are not checked against it and its routes answer
	// province_unavailable. ProvinceToken is its bearer token.
	ProvinceURL     string
	ProvinceToken   string
	ProvinceTimeout time.Duration
	// Fees is the replacement fee and the non-tax POS (fees.go).
	Fees Fees
	// Notify configures notifications to holders (notify.go).
	Notify Notify

	AuditSigningKey     string        // Ed25519 seed (hex or base64) signing history digests; secret
	AuditPublicKey      string        // trusted key for `audit verify --digest`; default derived from the signing key
	AuditDigestInterval time.Duration // how often serve signs a digest (when a signing key is set)

	// IdempotencyRetention is how long an Idempotency-Key is remembered;
	// serve deletes older records, and a retry after it is a new command.
	IdempotencyRetention time.Duration
	// StreamCache is how many cardholder streams commands decide on
	// without reading them (commands.Pipeline); 0 turns the cache off.
	StreamCache int

	MasterKey     string   // hex or base64 of 32 bytes wrapping the per-person data keys (and deriving the keys that seal stored secrets); secret
	OldMasterKeys []string // earlier master keys still accepted while `keys rotate` runs; secret

	// Client commands (`blacklist sync`) talk to a running server over HTTP.
	ServerURL string // base URL of that server
	APIKey    string // key of the API client they act as; secret

	// ECardCodeTTL is how long a dynamic identity code is valid.
	ECardCodeTTL time.Duration
	// ECardRiskWindow: one holder's codes verified in two prefectures within
	// it raise a risk alert.
	ECardRiskWindow time.Duration
	// ECardLoginTTL is how long a scan-to-login session waits for its
	// confirmation.
	ECardLoginTTL time.Duration
	// ECardLoginRate is how many login sessions one client address may open
	// a minute (per instance); 0 turns the limit off.
	ECardLoginRate int

	// PoliceURL is the identity source (公安人口库, package identity);
	// empty: registrations and counter applications are not checked.
	PoliceURL     string
	PoliceTimeout time.Duration // how long one check may take
	// SandboxPostgresURL is the database of the open platform's sandbox
	// tenant (its event store and read models); "" when the sandbox is off.
	SandboxPostgresURL string
	// SandboxProductionInterval is how often the sandbox's production desk
	// runs its pending applications through the batch exchange with the
	// bank and vendor simulators; 0 ("off") turns the desk off.
	SandboxProductionInterval time.Duration
}

// SandboxOff is the CARDLEDGER_SANDBOX_POSTGRES_URL that turns the sandbox off.
const SandboxOff = "off"

// SandboxURLOf is the default sandbox database: the same server as the
// read-model database, database "<name>_sandbox", a small pool (sandbox
// traffic is trial traffic; it must not spend production's connections).
func SandboxURLOf(postgresURL string) (string, error) {
	u, err := url.Parse(postgresURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("CARDLEDGER_POSTGRES_URL is no postgres:// URL to derive the sandbox's from; set CARDLEDGER_SANDBOX_POSTGRES_URL")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		name = "postgres"
	}
	u.Path = "/" + name + "_sandbox"
	q := u.Query()
	if q.Get("pool_max_conns") == "" {
		q.Set("pool_max_conns", "4")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// Setting documents one configuration knob.
type Setting struct {
	Env, Flag, Default, Help string
}

// DefaultPostgresURL is the local read-model database.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/cardledger?sslmode=disable"

// devIDKey is only for demos and tests; serve warns when it is in use.
const devIDKey = "6361726465646c65722d6465762d6b65792d646f2d6e6f742d7573652d696e2d70726f64"

// devMasterKey is only for demos and tests; serve warns when it is in use.
const devMasterKey = "636172646c656467657220646576206d6173746572206b6579202d2064656d6f"

// Settings is the table of every knob, in README order.
var Settings = append([]Setting{
	{"CARDLEDGER_LISTEN", "listen", "127.0.0.1:8080", "HTTP listen address"},
	{"CARDLEDGER_POSTGRES_URL", "postgres-url", DefaultPostgresURL, "PostgreSQL for read models, API clients and idempotency keys"},
	{"CARDLEDGER_POSTGRES_READ_URL", "postgres-read-url", "(empty: reads go to CARDLEDGER_POSTGRES_URL)", "streaming replica of that database serving the read API (records, blacklist, stats); min_position reads wait until the replica has applied the position"},
	{"CARDLEDGER_EVENTSTORE_URL", "eventstore-url", "(same as CARDLEDGER_POSTGRES_URL)", "event store: a postgres:// URL selects the PostgreSQL event store, esdb:// selects EventStoreDB"},
	{"CARDLEDGER_CLICKHOUSE_URL", "clickhouse-url", "(empty: analytics off)", "ClickHouse native-protocol URL, e.g. clickhouse://127.0.0.1:9000/default"},
	{"CARDLEDGER_CLICKHOUSE_CLUSTER", "clickhouse-cluster", "(empty: one server)", "ClickHouse cluster (a remote_servers name) the analytics tables live on: migrate creates them ON CLUSTER as Replicated*MergeTree shards (macros {shard}, {replica} and ZooKeeper needed) with Distributed tables over them"},
	{"CARDLEDGER_ID_KEY", "id-key", "(a fixed development key)", "hex key of the keyed hash deriving cardholder ids from ID numbers; set it in production and never change it"},
	{"CARDLEDGER_CITY_CODE", "city-code", "320500", "GB/T 2260 code of the prefecture this system serves (home city for analytics)"},
	{"CARDLEDGER_CITY_NAME", "city-name", "苏州市", "name of that city, shown in the dashboard's title"},
	{"CARDLEDGER_DASHBOARD_PUBLIC", "dashboard-public", "false", "true serves `/dashboard/data` without a key; false needs an analyst key or a display token (`clients add --role display`, passed as `?display_token=`)"},
	{"CARDLEDGER_LOG_LEVEL", "log-level", "info", "debug, info, warn or error"},
	{"CARDLEDGER_LOG_FORMAT", "log-format", "json", "json or text"},
	{"CARDLEDGER_PROJECTIONS", "projections", "true", "run the projections inside serve (false when `cardledger project` runs them)"},
	{"CARDLEDGER_PROJECTION_LINGER", "projection-linger", DefaultProjectionLinger.String(), "how long a live batch of the PostgreSQL projections (read models, audit, deliveries) waits for more events after its first (1ms to 1s); a batch still holding one event after 5ms goes then. Longer: fewer, larger batches (fewer statements per command under load), later visibility (README, Performance)"},
	{"CARDLEDGER_TLS_CERT", "tls-cert", "(empty: plain HTTP)", "PEM certificate file; with CARDLEDGER_TLS_KEY, serve HTTPS"},
	{"CARDLEDGER_TLS_KEY", "tls-key", "", "PEM private key file of CARDLEDGER_TLS_CERT"},
	{"CARDLEDGER_TLS_CLIENT_CA", "tls-client-ca", "(empty: no client certificates)", "PEM CA bundle; a verified client certificate whose subject is registered (`clients add --auth tls --subject S`) identifies the client"},
	{"CARDLEDGER_RATE_LIMIT", "rate-limit", "50", "requests per second per client (per instance); 0 turns limiting off; `clients add --rate` overrides per client"},
	{"CARDLEDGER_RATE_LIMIT_SCOPE", "rate-limit-scope", "cluster", "cluster: one bucket per client shared by every instance (PostgreSQL); instance: a bucket per client in each instance"},
	{"CARDLEDGER_RATE_BURST", "rate-burst", "0", "token-bucket size; 0 means one second's worth"},
	{"CARDLEDGER_CHANNEL_RATE_LIMIT", "channel-rate-limit", "0", "requests per second per e-card channel (scope as CARDLEDGER_RATE_LIMIT_SCOPE), all clients of the channel sharing one bucket; 0 means CARDLEDGER_RATE_LIMIT"},
	{"CARDLEDGER_AUDIT_SIGNING_KEY", "audit-signing-key", "(empty: no digests)", "Ed25519 seed, hex or base64, signing the periodic digest of every stream's head; secret"},
	{"CARDLEDGER_AUDIT_PUBLIC_KEY", "audit-public-key", "(derived from the signing key)", "trusted public key for `audit verify --digest`"},
	{"CARDLEDGER_AUDIT_DIGEST_INTERVAL", "audit-digest-interval", "1h", "how often serve signs a digest"},
	{"CARDLEDGER_IDEMPOTENCY_RETENTION", "idempotency-retention", "24h", "how long an Idempotency-Key is remembered; serve deletes older records"},
	{"CARDLEDGER_STREAM_CACHE", "stream-cache", "10000", "cardholder streams (decoded, personal data opened, in memory) a server keeps so that a command on a recently written holder reads nothing; at most 32 events a stream on average; a stale copy is caught by the append's revision check and decided again (README, Performance); 0 turns it off"},
	{"CARDLEDGER_MASTER_KEY", "master-key", "(a fixed development key)", "master key (32 bytes, hex or base64) wrapping the per-person keys that encrypt personal data in events; secret"},
	{"CARDLEDGER_MASTER_KEY_FILE", "master-key-file", "(empty)", "file holding the master key instead of CARDLEDGER_MASTER_KEY"},
	{"CARDLEDGER_MASTER_KEY_OLD", "master-key-old", "(empty)", "comma-separated earlier master keys still accepted during a rotation (`cardledger keys rotate`)"},
	{"CARDLEDGER_SERVER_URL", "server-url", DefaultServerURL, "base URL of the cardledger server that client commands (`blacklist sync`) talk to"},
	{"CARDLEDGER_API_KEY", "api-key", "(empty)", "API key client commands present; `blacklist sync` needs a blacklist-consumer key; secret"},
	{"CARDLEDGER_ECARD_CODE_TTL", "ecard-code-ttl", "60s", "how long an e-card dynamic identity code is valid (1s to 10m); key rotations keep the old key at least this plus 2 minutes"},
	{"CARDLEDGER_DELIVERY_ALLOW_PRIVATE", "delivery-allow-private", "false", "true accepts subscription receiver URLs on loopback and private addresses (make run, tests); false refuses them (receiver_not_public)"},
	{"CARDLEDGER_PAYMENT_BANK_URL", "payment-bank-url", "(the built-in simulator)", "base URL of the payment bank port (POST …/payments, …/refunds; docs/platform.md); `cardledger simulate payment-bank --listen ADDR` serves the simulator there"},
	{"CARDLEDGER_PROVINCE_URL", "province-url", "(empty: no province)", "base URL of the provincial card database (省持卡库, docs/province.md; `cardledger simulate province` serves one); empty: first issues are not checked against it and the province's routes answer 503 province_unavailable"},
	{"CARDLEDGER_PROVINCE_TOKEN", "province-token", "(empty)", "bearer token sent to the province; secret"},
	{"CARDLEDGER_PROVINCE_TIMEOUT", "province-timeout", "5s", "how long one call to the province may take before the command is refused 503 province_unavailable (nothing recorded)"},
	{"CARDLEDGER_ECARD_RISK_WINDOW", "ecard-risk-window", "10m", "one holder's e-card codes verified by terminals of two prefectures within this window raise a risk alert"},
	{"CARDLEDGER_ECARD_LOGIN_TTL", "ecard-login-ttl", "120s", "how long a scan-to-login session (`/ecard/login`) waits for the holder's confirmation (10s to 10m)"},
	{"CARDLEDGER_ECARD_LOGIN_RATE", "ecard-login-rate", "20", "scan-to-login sessions one client address may open a minute (per instance); 0 turns the limit off"},
	{"CARDLEDGER_POLICE_URL", "police-url", "(empty: identity check off)", "base URL of the police identity source (`cardledger simulate police` plays it): registrations and counter applications check name and ID number there and take the person's photo"},
	{"CARDLEDGER_POLICE_TIMEOUT", "police-timeout", "5s", "how long one identity check may take before the request is refused (police_timeout)"},
	{"CARDLEDGER_SANDBOX_POSTGRES_URL", "sandbox-postgres-url", "(same server as CARDLEDGER_POSTGRES_URL, database `<name>_sandbox`, pool of 4)", "PostgreSQL database of the open platform's sandbox tenant (event store and read models), created, migrated and seeded with demo holders on first use; `off` turns the sandbox off (docs/platform.md)"},
	{"CARDLEDGER_SANDBOX_PRODUCTION_INTERVAL", "sandbox-production-interval", "30s", "how often the sandbox's production desk puts the sandbox's pending applications into a batch and answers its files with the bank and vendor simulators, so they reach produced (docs/platform.md, \"Sandbox\"); a positive duration up to 24h, or `off`"},
}, append(feeSettings, notifySettings...)...)

// DefaultProjectionLinger is CARDLEDGER_PROJECTION_LINGER's default.
const DefaultProjectionLinger = 15 * time.Millisecond

// DefaultServerURL is a server on this machine at the default listen address.
const DefaultServerURL = "http://127.0.0.1:8080"

// Load reads the environment, then parses args with fs so flags override.
// fs may already hold command-specific flags; Load adds the common ones.
func Load(fs *flag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	var c Config
	var idKey, projections string
	fs.StringVar(&c.Listen, "listen", env("CARDLEDGER_LISTEN", "127.0.0.1:8080"), "HTTP listen address")
	fs.StringVar(&c.PostgresURL, "postgres-url", env("CARDLEDGER_POSTGRES_URL", DefaultPostgresURL), "PostgreSQL URL for read models")
	fs.StringVar(&c.PostgresReadURL, "postgres-read-url", getenv("CARDLEDGER_POSTGRES_READ_URL"), "PostgreSQL replica URL serving the read API")
	fs.StringVar(&c.EventStoreURL, "eventstore-url", getenv("CARDLEDGER_EVENTSTORE_URL"), "event store URL (postgres:// or esdb://)")
	fs.StringVar(&c.ClickHouseURL, "clickhouse-url", getenv("CARDLEDGER_CLICKHOUSE_URL"), "ClickHouse URL (native protocol)")
	fs.StringVar(&c.ClickHouseCluster, "clickhouse-cluster", getenv("CARDLEDGER_CLICKHOUSE_CLUSTER"), "ClickHouse cluster of the analytics tables")
	fs.StringVar(&idKey, "id-key", env("CARDLEDGER_ID_KEY", devIDKey), "hex key deriving cardholder ids")
	fs.StringVar(&c.CityCode, "city-code", env("CARDLEDGER_CITY_CODE", "320500"), "prefecture code of this city")
	fs.StringVar(&c.CityName, "city-name", env("CARDLEDGER_CITY_NAME", "苏州市"), "name of this city (dashboard title)")
	var dashboardPublic string
	fs.StringVar(&dashboardPublic, "dashboard-public", env("CARDLEDGER_DASHBOARD_PUBLIC", "false"), "serve dashboard data without a key")
	fs.StringVar(&c.LogLevel, "log-level", env("CARDLEDGER_LOG_LEVEL", "info"), "log level")
	fs.StringVar(&c.LogFormat, "log-format", env("CARDLEDGER_LOG_FORMAT", "json"), "log format: json or text")
	fs.StringVar(&projections, "projections", env("CARDLEDGER_PROJECTIONS", "true"), "run projections inside serve")
	var linger string
	fs.StringVar(&linger, "projection-linger", env("CARDLEDGER_PROJECTION_LINGER", DefaultProjectionLinger.String()), "how long a live projection batch waits for more events")
	var allowPrivate string
	fs.StringVar(&allowPrivate, "delivery-allow-private", env("CARDLEDGER_DELIVERY_ALLOW_PRIVATE", "false"), "accept receiver URLs on loopback and private addresses")
	fs.StringVar(&c.PaymentBankURL, "payment-bank-url", getenv("CARDLEDGER_PAYMENT_BANK_URL"), "payment bank port base URL (empty: the built-in simulator)")
	fs.StringVar(&c.ProvinceURL, "province-url", getenv("CARDLEDGER_PROVINCE_URL"), "base URL of the provincial card database")
	fs.StringVar(&c.ProvinceToken, "province-token", getenv("CARDLEDGER_PROVINCE_TOKEN"), "bearer token sent to the province")
	var provinceTimeout string
	fs.StringVar(&provinceTimeout, "province-timeout", env("CARDLEDGER_PROVINCE_TIMEOUT", "5s"), "timeout of one call to the province")
	var rateScope string
	fs.StringVar(&rateScope, "rate-limit-scope", env("CARDLEDGER_RATE_LIMIT_SCOPE", "cluster"), "rate buckets shared by every instance (cluster) or per instance")
	fs.StringVar(&c.TLSCert, "tls-cert", getenv("CARDLEDGER_TLS_CERT"), "PEM certificate file")
	fs.StringVar(&c.TLSKey, "tls-key", getenv("CARDLEDGER_TLS_KEY"), "PEM private key file")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", getenv("CARDLEDGER_TLS_CLIENT_CA"), "PEM CA bundle for client certificates")
	var rate, burst, channelRate string
	fs.StringVar(&rate, "rate-limit", env("CARDLEDGER_RATE_LIMIT", "50"), "requests per second per client")
	fs.StringVar(&burst, "rate-burst", env("CARDLEDGER_RATE_BURST", "0"), "token-bucket size")
	fs.StringVar(&channelRate, "channel-rate-limit", env("CARDLEDGER_CHANNEL_RATE_LIMIT", "0"), "requests per second per e-card channel")
	fs.StringVar(&c.AuditSigningKey, "audit-signing-key", getenv("CARDLEDGER_AUDIT_SIGNING_KEY"), "Ed25519 seed signing history digests")
	fs.StringVar(&c.AuditPublicKey, "audit-public-key", getenv("CARDLEDGER_AUDIT_PUBLIC_KEY"), "trusted public key for digests")
	var digestEvery string
	var masterKeyFile, oldMasterKeys string
	fs.StringVar(&c.MasterKey, "master-key", getenv("CARDLEDGER_MASTER_KEY"), "master key wrapping the per-person data keys")
	fs.StringVar(&masterKeyFile, "master-key-file", getenv("CARDLEDGER_MASTER_KEY_FILE"), "file holding the master key")
	fs.StringVar(&oldMasterKeys, "master-key-old", getenv("CARDLEDGER_MASTER_KEY_OLD"), "earlier master keys, comma-separated")
	fs.StringVar(&c.ServerURL, "server-url", env("CARDLEDGER_SERVER_URL", DefaultServerURL), "base URL of the server client commands talk to")
	fs.StringVar(&c.APIKey, "api-key", getenv("CARDLEDGER_API_KEY"), "API key client commands present")
	fs.StringVar(&digestEvery, "audit-digest-interval", env("CARDLEDGER_AUDIT_DIGEST_INTERVAL", "1h"), "how often serve signs a digest")
	var idemRetention string
	fs.StringVar(&idemRetention, "idempotency-retention", env("CARDLEDGER_IDEMPOTENCY_RETENTION", "24h"), "how long an Idempotency-Key is remembered")
	var streamCache string
	fs.StringVar(&streamCache, "stream-cache", env("CARDLEDGER_STREAM_CACHE", "10000"), "cardholder streams kept decoded for commands; 0: off")
	var ecardTTL, ecardRisk string
	fs.StringVar(&ecardTTL, "ecard-code-ttl", env("CARDLEDGER_ECARD_CODE_TTL", "60s"), "lifetime of an e-card identity code")
	var ecardLoginTTL, ecardLoginRate string
	fs.StringVar(&ecardLoginTTL, "ecard-login-ttl", env("CARDLEDGER_ECARD_LOGIN_TTL", "120s"), "lifetime of a scan-to-login session")
	fs.StringVar(&ecardLoginRate, "ecard-login-rate", env("CARDLEDGER_ECARD_LOGIN_RATE", "20"), "scan-to-login sessions per client address a minute")
	var sandboxURL string
	fs.StringVar(&sandboxURL, "sandbox-postgres-url", getenv("CARDLEDGER_SANDBOX_POSTGRES_URL"), "PostgreSQL URL of the open platform's sandbox tenant, or off")
	var sandboxProduction string
	fs.StringVar(&sandboxProduction, "sandbox-production-interval", env("CARDLEDGER_SANDBOX_PRODUCTION_INTERVAL", "30s"), "how often the sandbox's production desk runs, or off")
	fs.StringVar(&ecardRisk, "ecard-risk-window", env("CARDLEDGER_ECARD_RISK_WINDOW", "10m"), "window of the e-card two-city risk check")
	var policeTimeout string
	fs.StringVar(&c.PoliceURL, "police-url", getenv("CARDLEDGER_POLICE_URL"), "base URL of the police identity source; empty: check off")
	fs.StringVar(&policeTimeout, "police-timeout", env("CARDLEDGER_POLICE_TIMEOUT", "5s"), "time limit of one identity check")
	applyFees := feeFlags(fs, env)
	c.ShutdownGrace = 10 * time.Second
	notify := bindNotify(fs, env)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if err := applyFees(&c); err != nil {
		return Config{}, err
	}
	notifyCfg, err := notify()
	if err != nil {
		return Config{}, err
	}
	c.Notify = notifyCfg
	if c.EventStoreURL == "" {
		c.EventStoreURL = c.PostgresURL
	}
	switch {
	case sandboxURL == SandboxOff:
	case sandboxURL != "":
		c.SandboxPostgresURL = sandboxURL
	default:
		// A URL the sandbox cannot derive from turns it off, not the server.
		c.SandboxPostgresURL, _ = SandboxURLOf(c.PostgresURL)
	}
	if c.ClickHouseCluster != "" && !clusterName.MatchString(c.ClickHouseCluster) {
		return Config{}, fmt.Errorf("CARDLEDGER_CLICKHOUSE_CLUSTER / --clickhouse-cluster: %q: letters, digits and _ only", c.ClickHouseCluster)
	}
	if c.PostgresReadURL != "" && !strings.HasPrefix(c.PostgresReadURL, "postgres://") && !strings.HasPrefix(c.PostgresReadURL, "postgresql://") {
		return Config{}, fmt.Errorf("CARDLEDGER_POSTGRES_READ_URL / --postgres-read-url: want a postgres:// URL, got %q", redact(c.PostgresReadURL))
	}
	key, err := hex.DecodeString(idKey)
	if err != nil || len(key) < 16 {
		return Config{}, fmt.Errorf("CARDLEDGER_ID_KEY / --id-key: want at least 16 bytes as hex")
	}
	c.IDKey = key
	switch strings.ToLower(projections) {
	case "true", "1", "yes":
		c.Projections = true
	case "false", "0", "no":
		c.Projections = false
	default:
		return Config{}, fmt.Errorf("CARDLEDGER_PROJECTIONS / --projections: want true or false, got %q", projections)
	}
	if c.ProjectionLinger, err = time.ParseDuration(linger); err != nil || c.ProjectionLinger < time.Millisecond || c.ProjectionLinger > time.Second {
		return Config{}, fmt.Errorf("CARDLEDGER_PROJECTION_LINGER / --projection-linger: want a duration from 1ms to 1s like 30ms, got %q", linger)
	}
	if c.DashboardPublic, err = strconv.ParseBool(dashboardPublic); err != nil {
		return Config{}, fmt.Errorf("CARDLEDGER_DASHBOARD_PUBLIC / --dashboard-public: want true or false, got %q", dashboardPublic)
	}
	if c.PaymentBankURL != "" {
		if u, perr := url.Parse(c.PaymentBankURL); perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return Config{}, fmt.Errorf("CARDLEDGER_PAYMENT_BANK_URL / --payment-bank-url: want an absolute http or https URL, got %q", c.PaymentBankURL)
		}
	}
	if c.DeliveryAllowPrivate, err = strconv.ParseBool(allowPrivate); err != nil {
		return Config{}, fmt.Errorf("CARDLEDGER_DELIVERY_ALLOW_PRIVATE / --delivery-allow-private: want true or false, got %q", allowPrivate)
	}
	if c.ProvinceTimeout, err = time.ParseDuration(provinceTimeout); err != nil || c.ProvinceTimeout <= 0 {
		return Config{}, fmt.Errorf("CARDLEDGER_PROVINCE_TIMEOUT / --province-timeout: want a positive duration like 5s, got %q", provinceTimeout)
	}
	switch rateScope {
	case "cluster":
		c.RateLimitShared = true
	case "instance":
		c.RateLimitShared = false
	default:
		return Config{}, fmt.Errorf("CARDLEDGER_RATE_LIMIT_SCOPE / --rate-limit-scope: want cluster or instance, got %q", rateScope)
	}
	if sandboxProduction != SandboxOff {
		if c.SandboxProductionInterval, err = time.ParseDuration(sandboxProduction); err != nil ||
			c.SandboxProductionInterval <= 0 || c.SandboxProductionInterval > 24*time.Hour {
			return Config{}, fmt.Errorf("CARDLEDGER_SANDBOX_PRODUCTION_INTERVAL / --sandbox-production-interval: want a positive duration up to 24h like 30s, or off, got %q", sandboxProduction)
		}
	}
	if c.AuditDigestInterval, err = time.ParseDuration(digestEvery); err != nil || c.AuditDigestInterval <= 0 {
		return Config{}, fmt.Errorf("CARDLEDGER_AUDIT_DIGEST_INTERVAL / --audit-digest-interval: want a positive duration like 1h, got %q", digestEvery)
	}
	if c.IdempotencyRetention, err = time.ParseDuration(idemRetention); err != nil || c.IdempotencyRetention <= 0 {
		return Config{}, fmt.Errorf("CARDLEDGER_IDEMPOTENCY_RETENTION / --idempotency-retention: want a positive duration like 24h, got %q", idemRetention)
	}
	if c.StreamCache, err = strconv.Atoi(streamCache); err != nil || c.StreamCache < 0 {
		return Config{}, fmt.Errorf("CARDLEDGER_STREAM_CACHE / --stream-cache: want a whole number of streams >= 0, got %q", streamCache)
	}
	if c.ECardCodeTTL, err = time.ParseDuration(ecardTTL); err != nil || c.ECardCodeTTL < time.Second || c.ECardCodeTTL > 10*time.Minute {
		return Config{}, fmt.Errorf("CARDLEDGER_ECARD_CODE_TTL / --ecard-code-ttl: want a duration from 1s to 10m, got %q", ecardTTL)
	}
	if c.ECardRiskWindow, err = time.ParseDuration(ecardRisk); err != nil || c.ECardRiskWindow <= 0 {
		return Config{}, fmt.Errorf("CARDLEDGER_ECARD_RISK_WINDOW / --ecard-risk-window: want a positive duration like 10m, got %q", ecardRisk)
	}
	if c.ECardLoginTTL, err = time.ParseDuration(ecardLoginTTL); err != nil || c.ECardLoginTTL < 10*time.Second || c.ECardLoginTTL > 10*time.Minute {
		return Config{}, fmt.Errorf("CARDLEDGER_ECARD_LOGIN_TTL / --ecard-login-ttl: want a duration from 10s to 10m, got %q", ecardLoginTTL)
	}
	if c.ECardLoginRate, err = strconv.Atoi(ecardLoginRate); err != nil || c.ECardLoginRate < 0 {
		return Config{}, fmt.Errorf("CARDLEDGER_ECARD_LOGIN_RATE / --ecard-login-rate: want a whole number of sessions a minute >= 0, got %q", ecardLoginRate)
	}
	if c.RateLimit, err = strconv.ParseFloat(rate, 64); err != nil || c.RateLimit < 0 {
		return Config{}, fmt.Errorf("CARDLEDGER_RATE_LIMIT / --rate-limit: want a number of requests per second >= 0, got %q", rate)
	}
	if c.RateBurst, err = strconv.Atoi(burst); err != nil || c.RateBurst < 0 {
		return Config{}, fmt.Errorf("CARDLEDGER_RATE_BURST / --rate-burst: want a whole number >= 0, got %q", burst)
	}
	if c.ChannelRateLimit, err = strconv.ParseFloat(channelRate, 64); err != nil || c.ChannelRateLimit < 0 {
		return Config{}, fmt.Errorf("CARDLEDGER_CHANNEL_RATE_LIMIT / --channel-rate-limit: want a number of requests per second >= 0, got %q", channelRate)
	}
	if c.PoliceTimeout, err = time.ParseDuration(policeTimeout); err != nil || c.PoliceTimeout <= 0 || c.PoliceTimeout > time.Minute {
		return Config{}, fmt.Errorf("CARDLEDGER_POLICE_TIMEOUT / --police-timeout: want a duration up to 1m like 5s, got %q", policeTimeout)
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return Config{}, fmt.Errorf("CARDLEDGER_TLS_CERT and CARDLEDGER_TLS_KEY: set both or neither")
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		return Config{}, fmt.Errorf("CARDLEDGER_TLS_CLIENT_CA needs CARDLEDGER_TLS_CERT and CARDLEDGER_TLS_KEY")
	}
	if err := c.loadMasterKeys(masterKeyFile, oldMasterKeys); err != nil {
		return Config{}, err
	}
	if len(c.CityCode) != 6 {
		return Config{}, fmt.Errorf("CARDLEDGER_CITY_CODE / --city-code: want a 6-digit GB/T 2260 code, got %q", c.CityCode)
	}
	return c, nil
}

// loadMasterKeys reads the master key from its file when one is named and
// falls back to the development key. Errors never quote a key.
func (c *Config) loadMasterKeys(file, old string) error {
	switch {
	case file != "" && c.MasterKey != "":
		return fmt.Errorf("CARDLEDGER_MASTER_KEY_FILE / --master-key-file: set either it or CARDLEDGER_MASTER_KEY, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("CARDLEDGER_MASTER_KEY_FILE / --master-key-file: %w", err)
		}
		c.MasterKey = strings.TrimSpace(string(b))
		if c.MasterKey == "" {
			return fmt.Errorf("CARDLEDGER_MASTER_KEY_FILE / --master-key-file: %s is empty", file)
		}
	case c.MasterKey == "":
		c.MasterKey = devMasterKey
	}
	for _, k := range strings.Split(old, ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.OldMasterKeys = append(c.OldMasterKeys, k)
		}
	}
	return nil
}

// UsesDevMasterKey reports whether the demo master key is in use.
func (c Config) UsesDevMasterKey() bool { return c.MasterKey == devMasterKey }

// UsesDevIDKey reports whether the demo key is in use.
func (c Config) UsesDevIDKey() bool { return hex.EncodeToString(c.IDKey) == devIDKey }

// EventStoreKind is "postgres" or "esdb" from the event-store URL's scheme.
func (c Config) EventStoreKind() (string, error) {
	switch {
	case strings.HasPrefix(c.EventStoreURL, "postgres://"), strings.HasPrefix(c.EventStoreURL, "postgresql://"):
		return "postgres", nil
	case strings.HasPrefix(c.EventStoreURL, "esdb://"), strings.HasPrefix(c.EventStoreURL, "esdb+discover://"):
		return "esdb", nil
	}
	return "", fmt.Errorf("CARDLEDGER_EVENTSTORE_URL: want a postgres:// or esdb:// URL, got %q", redact(c.EventStoreURL))
}

func redact(u string) string {
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "…" + u[i:]
		}
	}
	return u
}
