package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// DefaultCacheTTL bounds how long a removed client keeps working.
const DefaultCacheTTL = 30 * time.Second

// maxCached bounds the cache; past it the cache starts over, which only costs
// lookups (and keeps a flood of random keys from growing memory).
const maxCached = 10_000

// nonceSweepEvery is how often expired nonces are deleted (by whichever
// instance gets there; deleting twice is harmless).
const nonceSweepEvery = time.Minute

// Authenticator implements httpapi.Authenticator (bearer keys),
// httpapi.SignedAuthenticator (signed requests, nonces) and
// httpapi.CertAuthenticator (client certificates) over the clients table.
type Authenticator struct {
	db  DB
	ttl time.Duration
	now func() time.Time

	secrets *SecretKeys // opens sealed HMAC secrets; nil: only clear ones are usable

	mu        sync.Mutex
	cache     map[string]cached
	gen       uint64 // bumped by forgetAll: a lookup begun before it caches nothing
	lastSweep time.Time
}

type cached struct {
	principal httpapi.Principal
	secret    []byte // HMAC secret (opened) or Ed25519 public key, by auth
	auth      string
	known     bool
	expires   time.Time
}

var (
	_ httpapi.Authenticator       = (*Authenticator)(nil)
	_ httpapi.SignedAuthenticator = (*Authenticator)(nil)
	_ httpapi.CertAuthenticator   = (*Authenticator)(nil)
)

// NewAuthenticator returns an authenticator with a cache of ttl (0 means
// DefaultCacheTTL; negative disables the cache). Nonces are never cached.
func NewAuthenticator(db DB, ttl time.Duration) *Authenticator {
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	return &Authenticator{db: db, ttl: ttl, now: time.Now, cache: map[string]cached{}}
}

const clientColumns = `name, role, region, bank, channel, agency, account, app_type, rate_limit`

// WithSecretKeys makes a opens HMAC secrets sealed under keys; it returns a.
// Call before serving.
func (a *Authenticator) WithSecretKeys(keys *SecretKeys) *Authenticator {
	a.secrets = keys
	return a
}

// Authenticate returns the bearer client owning key, or httpapi.ErrUnauthenticated.
func (a *Authenticator) Authenticate(ctx context.Context, key string) (httpapi.Principal, error) {
	h := hashKey(key)
	e, err := a.lookup(ctx, "k\x00"+string(h),
		`SELECT `+clientColumns+`, auth, NULL::bytea FROM api_clients WHERE key_hash = $1 AND auth = 'bearer' AND revoked_at IS NULL`, h)
	return e.principal, err
}

// SigningKey returns a signing client and what checks its signatures: its
// HMAC secret or its own Ed25519 public key, whichever it has (one only).
func (a *Authenticator) SigningKey(ctx context.Context, client string) (httpapi.Principal, httpapi.VerificationKey, error) {
	e, err := a.lookup(ctx, "h\x00"+client,
		`SELECT `+clientColumns+`, auth, CASE auth WHEN 'hmac' THEN hmac_secret ELSE public_key END
		FROM api_clients WHERE name = $1 AND auth IN ('hmac', 'ed25519') AND revoked_at IS NULL`, client)
	if err != nil {
		return httpapi.Principal{}, httpapi.VerificationKey{}, err
	}
	if e.auth == httpapi.MethodEd25519 {
		return e.principal, httpapi.Ed25519Key(e.secret), nil
	}
	return e.principal, httpapi.HMACKey(e.secret), nil
}

// AuthenticateCert returns the client registered for the certificate's
// subject. The certificate chain was verified by the TLS layer.
func (a *Authenticator) AuthenticateCert(ctx context.Context, cert *x509.Certificate) (httpapi.Principal, error) {
	subject := cert.Subject.String()
	e, err := a.lookup(ctx, "c\x00"+subject,
		`SELECT `+clientColumns+`, auth, NULL::bytea FROM api_clients WHERE cert_subject = $1 AND auth = 'tls' AND revoked_at IS NULL`, subject)
	if err != nil {
		return httpapi.Principal{}, err
	}
	p := e.principal
	p.Subject = subject
	return p, nil
}

// lookup runs query (one row of clientColumns, auth and a secret or key) through the cache.
func (a *Authenticator) lookup(ctx context.Context, cacheKey, query string, arg any) (cached, error) {
	now := a.now()
	if a.ttl > 0 {
		a.mu.Lock()
		e, ok := a.cache[cacheKey]
		a.mu.Unlock()
		if ok && now.Before(e.expires) {
			if !e.known {
				return cached{}, httpapi.ErrUnauthenticated
			}
			return e, nil
		}
	}
	a.mu.Lock()
	gen := a.gen
	a.mu.Unlock()
	var c Client
	var role string
	var secret []byte
	err := a.db.QueryRow(ctx, query, arg).Scan(&c.Name, &role, &c.Region, &c.Bank, &c.Channel, &c.Agency, &c.Account, &c.AppType, &c.RateLimit,
		&c.Auth, &secret)
	known := true
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		known = false
	case err != nil:
		return cached{}, fmt.Errorf("look up client: %w", err)
	}
	if known && secret != nil && c.Auth == httpapi.MethodHMAC {
		if secret, err = a.secrets.open(c.Name, secret); err != nil {
			return cached{}, fmt.Errorf("look up client: %w", err)
		}
	}
	c.Role = httpapi.Role(role)
	if known && (!c.Role.Valid() || c.Auth == httpapi.MethodEd25519 && len(secret) != ed25519.PublicKeySize) {
		// A row edited by hand: refuse rather than guess.
		known = false
	}
	e := cached{principal: c.Principal(), secret: secret, auth: c.Auth, known: known, expires: now.Add(a.ttl)}
	if a.ttl > 0 {
		a.mu.Lock()
		if len(a.cache) >= maxCached {
			a.cache = map[string]cached{}
		}
		if gen == a.gen { // else a revocation came while we read: the row may be stale
			a.cache[cacheKey] = e
		}
		a.mu.Unlock()
	}
	if !known {
		return cached{}, httpapi.ErrUnauthenticated
	}
	return e, nil
}

// UseNonce records nonce for client until expires, or returns
// httpapi.ErrNonceReplayed when it is recorded and not yet expired. The
// primary key makes this hold across every instance sharing the database.
func (a *Authenticator) UseNonce(ctx context.Context, client, nonce string, expires time.Time) error {
	a.sweepNonces(ctx)
	// An expired row may be taken over: its timestamp can no longer pass the
	// clock-skew check, so the request using it now is not that replay.
	tag, err := a.db.Exec(ctx, `
		INSERT INTO api_nonces (client, nonce, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (client, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at
		WHERE api_nonces.expires_at < $4`, client, nonce, expires, a.now())
	if err != nil {
		return fmt.Errorf("record nonce of %s: %w", client, err)
	}
	if tag.RowsAffected() == 0 {
		return httpapi.ErrNonceReplayed
	}
	return nil
}

func (a *Authenticator) sweepNonces(ctx context.Context) {
	now := a.now()
	a.mu.Lock()
	due := now.Sub(a.lastSweep) >= nonceSweepEvery
	if due {
		a.lastSweep = now
	}
	a.mu.Unlock()
	if due {
		// Best effort: a failed sweep leaves rows for the next one.
		_, _ = a.db.Exec(ctx, `DELETE FROM api_nonces WHERE expires_at < $1`, now)
	}
}
