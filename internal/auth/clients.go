package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// DB is what this package needs of a connection or pool (*pgxpool.Pool and
// *pgx.Conn both qualify).
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// Client is a registered API client, without its key.
type Client struct {
	Name   string
	Role   httpapi.Role
	Region string // optional scope, "" for none
	Bank   string // optional scope, "" for none
	// Channel is the e-card channel code of a RoleChannel client (required
	// for it, refused for every other role).
	Channel string
	// Agency is the agency or merchant code of a RoleTerminal client
	// (required for it, refused for every other role).
	Agency string
	// Account is the open-platform account of a RoleIntegrator or RoleApp
	// client (required for them, refused for every other role); AppType is
	// a RoleApp client's app type (required for it only).
	Account string
	AppType string
	// Auth is how the client authenticates: httpapi.MethodBearer (also for
	// ""), MethodHMAC, MethodEd25519 or MethodTLS. A client has exactly one
	// way in. An Ed25519 client is made by SetPublicKey on a signing client.
	Auth string
	// CertSubject is the subject of its client certificate as Go prints it
	// (x509.Certificate.Subject.String(), e.g. "CN=icbc-suzhou,O=ICBC");
	// required for MethodTLS, unique.
	CertSubject string
	// RateLimit overrides the server's per-client rate (requests/s) when > 0.
	RateLimit float64
	CreatedAt time.Time
	// RevokedAt is when the client was revoked (Revoke); zero while it
	// may authenticate. The row stays, as the record of the revocation.
	RevokedAt time.Time
}

// Principal is what the HTTP layer knows of the client.
func (c Client) Principal() httpapi.Principal {
	return httpapi.Principal{Client: c.Name, Role: c.Role, Region: c.Region, Bank: c.Bank,
		Channel: c.Channel, Agency: c.Agency, Account: c.Account, AppType: c.AppType, RateLimit: c.RateLimit}
}

var (
	// ErrClientExists: Add with a name already taken.
	ErrClientExists = errors.New("client already exists")
	// ErrNoClient: Remove of a name that is not registered.
	ErrNoClient = errors.New("no such client")
	// ErrRevoked: Revoke of a client already revoked.
	ErrRevoked = errors.New("client already revoked")
	// ErrSubjectTaken: another client has this certificate subject.
	ErrSubjectTaken = errors.New("certificate subject already registered")
)

// Prefixes make keys and secrets recognisable in configs and secret scanners.
const (
	keyPrefix    = "clk_"
	secretPrefix = "cls_"
)

const schema = `
SELECT pg_advisory_xact_lock(7308012217001);
CREATE TABLE IF NOT EXISTS api_clients (
	name       text PRIMARY KEY CHECK (name <> ''),
	role       text NOT NULL,
	key_hash   bytea NOT NULL UNIQUE,
	region     text NOT NULL DEFAULT '',
	bank       text NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE api_clients ALTER COLUMN key_hash DROP NOT NULL;
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS auth text NOT NULL DEFAULT 'bearer'
	CHECK (auth IN ('bearer', 'hmac', 'tls'));
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS hmac_secret bytea;
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS cert_subject text UNIQUE;
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS rate_limit double precision NOT NULL DEFAULT 0;
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS revoked_at timestamptz;
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS channel text NOT NULL DEFAULT '';
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS agency text NOT NULL DEFAULT '';
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS account text NOT NULL DEFAULT '';
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS app_type text NOT NULL DEFAULT '';
-- A client signing with its own Ed25519 key (auth 'ed25519'): the public
-- key, raw 32 bytes; nothing secret, so nothing sealed.
ALTER TABLE api_clients ADD COLUMN IF NOT EXISTS public_key bytea CHECK (length(public_key) = 32);
ALTER TABLE api_clients DROP CONSTRAINT IF EXISTS api_clients_auth_check;
ALTER TABLE api_clients ADD CONSTRAINT api_clients_auth_check CHECK (auth IN ('bearer', 'hmac', 'ed25519', 'tls'));
-- Nonces of signed requests, shared by every instance; the primary key is
-- what refuses a replay.
CREATE TABLE IF NOT EXISTS api_nonces (
	client     text NOT NULL,
	nonce      text NOT NULL,
	expires_at timestamptz NOT NULL,
	PRIMARY KEY (client, nonce)
);
CREATE INDEX IF NOT EXISTS api_nonces_expires ON api_nonces (expires_at);
-- Rate-limit buckets shared by every instance (RateBuckets); one row per
-- client, so the table stays as small as api_clients.
CREATE UNLOGGED TABLE IF NOT EXISTS api_rate_buckets (
	key        text PRIMARY KEY,
	tokens     double precision NOT NULL,
	touched_at timestamptz NOT NULL,
	granted    boolean NOT NULL
);
-- Tokens the row's last statement took (RateBuckets.Lease takes several).
ALTER TABLE api_rate_buckets ADD COLUMN IF NOT EXISTS taken double precision NOT NULL DEFAULT 0;`

// Migrate creates or upgrades the clients, nonces and rate-bucket tables. Safe to run
// concurrently: the statements run in one implicit transaction under an
// advisory lock.
func Migrate(ctx context.Context, db DB) error {
	if _, err := db.Exec(ctx, schema); err != nil {
		return fmt.Errorf("migrate api_clients: %w", err)
	}
	return nil
}

// Add registers a client and returns its credential, shown once: the
// bearer key (clk_...) or, for MethodHMAC, the signing secret (cls_...); ""
// for MethodTLS, whose credential is the certificate. Bearer keys are stored
// as SHA-256 only. HMAC secrets are stored as they are, because the server
// must compute the same HMAC; use AddSealed to store them sealed.
func Add(ctx context.Context, db DB, c Client) (credential string, err error) {
	return AddSealed(ctx, db, c, nil)
}

// AddSealed is Add storing an HMAC secret sealed under keys (nil: in clear).
func AddSealed(ctx context.Context, db DB, c Client, keys *SecretKeys) (credential string, err error) {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" {
		return "", errors.New("add client: name is required")
	}
	if strings.IndexFunc(c.Name, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("add client %q: a name holds no control characters", c.Name)
	}
	if !c.Role.Valid() {
		return "", fmt.Errorf("add client %s: unknown role %q", c.Name, c.Role)
	}
	if c.RateLimit < 0 {
		return "", fmt.Errorf("add client %s: negative rate limit", c.Name)
	}
	if err := checkRoleBinding(c); err != nil {
		return "", fmt.Errorf("add client %s: %w", c.Name, err)
	}
	var keyHash, secret []byte
	var subject *string
	switch c.Auth {
	case "", httpapi.MethodBearer:
		c.Auth = httpapi.MethodBearer
		if credential, err = randomToken(keyPrefix); err != nil {
			return "", fmt.Errorf("add client %s: %w", c.Name, err)
		}
		keyHash = hashKey(credential)
	case httpapi.MethodHMAC:
		if credential, err = randomToken(secretPrefix); err != nil {
			return "", fmt.Errorf("add client %s: %w", c.Name, err)
		}
		secret = []byte(credential)
		if keys != nil {
			if secret, err = keys.seal(strings.TrimSpace(c.Name), secret); err != nil {
				return "", fmt.Errorf("add client %s: %w", c.Name, err)
			}
		}
	case httpapi.MethodTLS:
		if strings.TrimSpace(c.CertSubject) == "" {
			return "", fmt.Errorf("add client %s: a certificate subject is required", c.Name)
		}
		subject = &c.CertSubject
	default:
		return "", fmt.Errorf("add client %s: unknown authentication %q (want bearer, hmac or tls)", c.Name, c.Auth)
	}
	_, err = db.Exec(ctx,
		`INSERT INTO api_clients (name, role, key_hash, region, bank, auth, hmac_secret, cert_subject, rate_limit, channel, agency,
			account, app_type)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		c.Name, string(c.Role), keyHash, c.Region, c.Bank, c.Auth, secret, subject, c.RateLimit, c.Channel, c.Agency,
		c.Account, c.AppType)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		switch pgErr.ConstraintName {
		case "api_clients_pkey":
			return "", fmt.Errorf("add client %s: %w", c.Name, ErrClientExists)
		case "api_clients_cert_subject_key":
			return "", fmt.Errorf("add client %s: %w", c.Name, ErrSubjectTaken)
		}
	}
	if err != nil {
		return "", fmt.Errorf("add client %s: %w", c.Name, err)
	}
	return credential, nil
}

func randomToken(prefix string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("random key: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(raw), nil
}

// Grant sets the role and region of a client (an approved permission
// request). It takes effect within the authenticator's cache TTL.
func Grant(ctx context.Context, db DB, name string, role httpapi.Role, region string) error {
	if !role.Valid() {
		return fmt.Errorf("grant %s: unknown role %q", name, role)
	}
	tag, err := db.Exec(ctx, `UPDATE api_clients SET role = $2, region = $3 WHERE name = $1`, name, string(role), region)
	if err != nil {
		return fmt.Errorf("grant %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("grant %s: %w", name, ErrNoClient)
	}
	return nil
}

// Get returns one client.
func Get(ctx context.Context, db DB, name string) (Client, error) {
	var c Client
	var role string
	var revoked *time.Time
	err := db.QueryRow(ctx, `SELECT `+listColumns+` FROM api_clients WHERE name = $1`, name).
		Scan(&c.Name, &role, &c.Region, &c.Bank, &c.Channel, &c.Agency, &c.Account, &c.AppType, &c.Auth, &c.CertSubject, &c.RateLimit, &c.CreatedAt, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return Client{}, fmt.Errorf("get client %s: %w", name, ErrNoClient)
	}
	if err != nil {
		return Client{}, fmt.Errorf("get client %s: %w", name, err)
	}
	c.Role = httpapi.Role(role)
	if revoked != nil {
		c.RevokedAt = *revoked
	}
	return c, nil
}

// Remove deletes a client; its key stops working within the cache TTL.
func Remove(ctx context.Context, db DB, name string) error {
	tag, err := db.Exec(ctx, `DELETE FROM api_clients WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("remove client %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("remove client %s: %w", name, ErrNoClient)
	}
	return nil
}

// listColumns are what Get and List read (never a key or secret).
const listColumns = `name, role, region, bank, channel, agency, account, app_type, auth, coalesce(cert_subject, ''), rate_limit, created_at, revoked_at`

// RevocationChannel is the PostgreSQL NOTIFY channel on which Revoke
// announces a revoked client's name, so every authenticator listening
// (Authenticator.Listen) drops its cached credentials at once.
const RevocationChannel = "cardledger_client_revoked"

// Revoke marks a client revoked: its credential is refused from then on
// (at once by authenticators that Listen, within the cache TTL by others).
// The row stays as the record of who was revoked and when.
func Revoke(ctx context.Context, db DB, name string) error {
	var revoked bool
	err := db.QueryRow(ctx, `WITH r AS (
			UPDATE api_clients SET revoked_at = now() WHERE name = $1 AND revoked_at IS NULL RETURNING name)
		SELECT EXISTS (SELECT 1 FROM r), (SELECT pg_notify($2, name) FROM r) IS NOT NULL`, name, RevocationChannel).
		Scan(&revoked, new(bool))
	if err != nil {
		return fmt.Errorf("revoke client %s: %w", name, err)
	}
	if revoked {
		return nil
	}
	if _, err := Get(ctx, db, name); err != nil {
		return fmt.Errorf("revoke client %s: %w", name, ErrNoClient)
	}
	return fmt.Errorf("revoke client %s: %w", name, ErrRevoked)
}

// List returns every client by name.
func List(ctx context.Context, db DB) ([]Client, error) {
	rows, err := db.Query(ctx, `SELECT `+listColumns+` FROM api_clients ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Client, error) {
		var c Client
		var role string
		var revoked *time.Time
		err := r.Scan(&c.Name, &role, &c.Region, &c.Bank, &c.Channel, &c.Agency, &c.Account, &c.AppType, &c.Auth, &c.CertSubject, &c.RateLimit, &c.CreatedAt, &revoked)
		c.Role = httpapi.Role(role)
		if revoked != nil {
			c.RevokedAt = *revoked
		}
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

func hashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// checkRoleBinding: a channel client names its channel and a terminal its
// agency; no other role carries either.
func checkRoleBinding(c Client) error {
	switch {
	case c.Role == httpapi.RoleChannel && strings.TrimSpace(c.Channel) == "":
		return errors.New("a channel client needs a channel code")
	case c.Role == httpapi.RoleChannel:
		// The code is a scope and travels in e-card codes: a malformed one
		// would never match a binding.
		if err := domain.ValidateChannelCode(c.Channel); err != nil {
			return err
		}
	case c.Role != httpapi.RoleChannel && c.Channel != "":
		return errors.New("only a channel client has a channel code")
	case c.Role == httpapi.RoleTerminal && strings.TrimSpace(c.Agency) == "":
		return errors.New("a terminal client needs an agency or merchant code")
	case c.Role != httpapi.RoleTerminal && c.Agency != "":
		return errors.New("only a terminal client has an agency code")
	case (c.Role == httpapi.RoleIntegrator || c.Role == httpapi.RoleApp) && strings.TrimSpace(c.Account) == "":
		return errors.New("an integrator or app client needs its platform account")
	case c.Role != httpapi.RoleIntegrator && c.Role != httpapi.RoleApp && c.Account != "":
		return errors.New("only an integrator or app client has a platform account")
	case c.Role == httpapi.RoleApp && strings.TrimSpace(c.AppType) == "":
		return errors.New("an app client needs its app type")
	case c.Role != httpapi.RoleApp && c.AppType != "":
		return errors.New("only an app client has an app type")
	}
	return nil
}
