package auth

import (
	"context"
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

// Authenticator implements httpapi.Authenticator over the clients table.
type Authenticator struct {
	db  DB
	ttl time.Duration
	now func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]cached
}

type cached struct {
	principal httpapi.Principal
	known     bool
	expires   time.Time
}

var _ httpapi.Authenticator = (*Authenticator)(nil)

// NewAuthenticator returns an authenticator with a cache of ttl (0 means
// DefaultCacheTTL; negative disables the cache).
func NewAuthenticator(db DB, ttl time.Duration) *Authenticator {
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	return &Authenticator{db: db, ttl: ttl, now: time.Now, cache: map[[32]byte]cached{}}
}

// Authenticate returns the client owning key, or httpapi.ErrUnauthenticated.
func (a *Authenticator) Authenticate(ctx context.Context, key string) (httpapi.Principal, error) {
	var h [32]byte
	copy(h[:], hashKey(key))
	now := a.now()
	if a.ttl > 0 {
		a.mu.Lock()
		e, ok := a.cache[h]
		a.mu.Unlock()
		if ok && now.Before(e.expires) {
			if !e.known {
				return httpapi.Principal{}, httpapi.ErrUnauthenticated
			}
			return e.principal, nil
		}
	}
	var c Client
	var role string
	err := a.db.QueryRow(ctx,
		`SELECT name, role, region, bank FROM api_clients WHERE key_hash = $1`, h[:]).
		Scan(&c.Name, &role, &c.Region, &c.Bank)
	known := true
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		known = false
	case err != nil:
		return httpapi.Principal{}, fmt.Errorf("look up API key: %w", err)
	}
	c.Role = httpapi.Role(role)
	if known && !c.Role.Valid() {
		// A row edited by hand: refuse rather than guess.
		known = false
	}
	if a.ttl > 0 {
		a.mu.Lock()
		if len(a.cache) >= maxCached {
			a.cache = map[[32]byte]cached{}
		}
		a.cache[h] = cached{principal: c.Principal(), known: known, expires: now.Add(a.ttl)}
		a.mu.Unlock()
	}
	if !known {
		return httpapi.Principal{}, httpapi.ErrUnauthenticated
	}
	return c.Principal(), nil
}
