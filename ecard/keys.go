package ecard

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/internal/auth"
)

// MaxClockSkew is how far a terminal's clock may be from ours; a retired
// key stays accepted at least a code's lifetime plus this after rotation.
const MaxClockSkew = 2 * time.Minute

// DefaultOverlap is how long a rotated-out key stays published and
// accepted by default: long enough for any code it signed to expire and for
// offline terminals to fetch the new key on their next sync.
const DefaultOverlap = time.Hour

// Key is one signing key as published (no private part).
type Key struct {
	ID        KeyID
	Public    ed25519.PublicKey
	NotBefore time.Time
	NotAfter  *time.Time // nil until retired
	sealed    []byte
}

// acceptedAt reports whether the key verifies codes at t.
func (k Key) acceptedAt(t time.Time) bool {
	return !t.Before(k.NotBefore) && (k.NotAfter == nil || t.Before(*k.NotAfter))
}

// KeyStore keeps the signing keys in PostgreSQL, their seeds sealed.
type KeyStore struct {
	pool  *pgxpool.Pool
	seal  *auth.SecretKeys
	clock func() time.Time
}

// NewKeyStore returns the key store; seal seals the private keys at rest.
func NewKeyStore(pool *pgxpool.Pool, seal *auth.SecretKeys, clock func() time.Time) (*KeyStore, error) {
	if pool == nil || seal == nil || clock == nil {
		return nil, errors.New("ecard: key store needs a pool, sealing keys and a clock")
	}
	return &KeyStore{pool: pool, seal: seal, clock: clock}, nil
}

func sealLabel(id KeyID) string { return "ecard-signing-key:" + id.String() }

// ErrNoSigningKey: no key is the signer (Ensure was not run).
var ErrNoSigningKey = errors.New("ecard: no signing key")

// Keys returns every key not yet past its retirement at now: the signer
// first, then the rotated-out ones, newest first.
func (s *KeyStore) Keys(ctx context.Context) ([]Key, error) {
	rows, err := s.pool.Query(ctx, `SELECT kid, public_key, sealed_seed, not_before, not_after FROM ecard.signing_keys
		WHERE not_after IS NULL OR not_after > $1
		ORDER BY not_after IS NULL DESC, not_before DESC, created_at DESC, kid`, s.clock())
	if err != nil {
		return nil, fmt.Errorf("ecard: read keys: %w", err)
	}
	defer rows.Close()
	var out []Key
	for rows.Next() {
		var k Key
		var kid int64
		var pub []byte
		if err := rows.Scan(&kid, &pub, &k.sealed, &k.NotBefore, &k.NotAfter); err != nil {
			return nil, fmt.Errorf("ecard: read keys: %w", err)
		}
		if len(pub) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("ecard: key %08x: public key of %d bytes", kid, len(pub))
		}
		k.ID, k.Public = KeyID(kid), pub
		k.NotBefore = k.NotBefore.UTC()
		if k.NotAfter != nil {
			t := k.NotAfter.UTC()
			k.NotAfter = &t
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ecard: read keys: %w", err)
	}
	return out, nil
}

// Ensure makes a first key when there is no signer, and reseals seeds
// sealed under an older master key; run by migrate and at serve start.
// Safe to run concurrently.
func (s *KeyStore) Ensure(ctx context.Context) error {
	return s.locked(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM ecard.signing_keys WHERE not_after IS NULL`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := s.insert(ctx, tx, s.clock()); err != nil {
				return err
			}
		}
		return s.reseal(ctx, tx)
	})
}

// Rotate makes a new key the signer at once and retires the previous
// signer overlap later (it stays published and accepted until then).
// overlap must cover a code's lifetime plus MaxClockSkew.
func (s *KeyStore) Rotate(ctx context.Context, overlap, ttl time.Duration) (Key, error) {
	if overlap < ttl+MaxClockSkew {
		return Key{}, fmt.Errorf("ecard: overlap %v is shorter than a code's lifetime %v plus the clock skew %v", overlap, ttl, MaxClockSkew)
	}
	var k Key
	err := s.locked(ctx, func(tx pgx.Tx) error {
		now := s.clock()
		if _, err := tx.Exec(ctx, `UPDATE ecard.signing_keys SET not_after = $1 WHERE not_after IS NULL`, now.Add(overlap)); err != nil {
			return err
		}
		var err error
		k, err = s.insert(ctx, tx, now)
		return err
	})
	return k, err
}

func (s *KeyStore) locked(ctx context.Context, f func(pgx.Tx) error) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey+1)); err != nil {
			return err
		}
		return f(tx)
	})
	if err != nil {
		return fmt.Errorf("ecard: signing keys: %w", err)
	}
	return nil
}

func (s *KeyStore) insert(ctx context.Context, tx pgx.Tx, now time.Time) (Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Key{}, err
	}
	for range 8 {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return Key{}, err
		}
		id := KeyID(binary.BigEndian.Uint32(b[:]))
		sealed, err := s.seal.Seal(sealLabel(id), priv.Seed())
		if err != nil {
			return Key{}, err
		}
		tag, err := tx.Exec(ctx, `INSERT INTO ecard.signing_keys (kid, public_key, sealed_seed, not_before)
			VALUES ($1, $2, $3, $4) ON CONFLICT (kid) DO NOTHING`, int64(id), []byte(pub), sealed, now)
		if err != nil {
			return Key{}, err
		}
		if tag.RowsAffected() == 1 {
			return Key{ID: id, Public: pub, NotBefore: now.UTC(), sealed: sealed}, nil
		}
	}
	return Key{}, errors.New("no free key id after 8 tries")
}

func (s *KeyStore) reseal(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, `SELECT kid, sealed_seed FROM ecard.signing_keys`)
	if err != nil {
		return err
	}
	type row struct {
		id     KeyID
		sealed []byte
	}
	var todo []row
	for rows.Next() {
		var kid int64
		var r row
		if err := rows.Scan(&kid, &r.sealed); err != nil {
			rows.Close()
			return err
		}
		if r.id = KeyID(kid); !s.seal.IsCurrent(r.sealed) {
			todo = append(todo, r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, r := range todo {
		seed, err := s.seal.Open(sealLabel(r.id), r.sealed)
		if err != nil {
			return fmt.Errorf("key %s: %w", r.id, err)
		}
		resealed, err := s.seal.Seal(sealLabel(r.id), seed)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE ecard.signing_keys SET sealed_seed = $2 WHERE kid = $1`, int64(r.id), resealed); err != nil {
			return err
		}
	}
	return nil
}

// KeyRing is a process's view of the keys: it answers from memory and
// reads the table again every refresh (a rotation by another process is
// seen within it) or at once when a code names a key it does not know.
type KeyRing struct {
	store   *KeyStore
	refresh time.Duration

	mu      sync.Mutex
	keys    []Key // newest first
	private map[KeyID]ed25519.PrivateKey
	loaded  time.Time
	// missAt limits reloads for unknown key ids (garbage codes name random
	// ones) to one per missEvery.
	missAt time.Time
}

// DefaultRefresh is how often a KeyRing reads the keys again.
const DefaultRefresh = 10 * time.Second

const missEvery = time.Second

// NewKeyRing reads the keys through store.
func NewKeyRing(store *KeyStore, refresh time.Duration) *KeyRing {
	if refresh <= 0 {
		refresh = DefaultRefresh
	}
	return &KeyRing{store: store, refresh: refresh, private: map[KeyID]ed25519.PrivateKey{}}
}

// Load reads the keys now.
func (r *KeyRing) Load(ctx context.Context) error {
	keys, err := r.store.Keys(ctx)
	if err != nil {
		return err
	}
	now := r.store.clock()
	r.mu.Lock()
	r.keys, r.loaded = keys, now
	r.mu.Unlock()
	return nil
}

func (r *KeyRing) current(ctx context.Context) ([]Key, error) {
	r.mu.Lock()
	stale := r.keys == nil || r.store.clock().Sub(r.loaded) >= r.refresh
	r.mu.Unlock()
	if stale {
		if err := r.Load(ctx); err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys, nil
}

// Published returns the keys a verifier should hold at now: the signer,
// then every rotated-out key not yet retired, newest first.
func (r *KeyRing) Published(ctx context.Context) ([]Key, error) {
	keys, err := r.current(ctx)
	if err != nil {
		return nil, err
	}
	now := r.store.clock()
	var out []Key
	for _, k := range keys {
		if k.NotAfter == nil || now.Before(*k.NotAfter) {
			out = append(out, k)
		}
	}
	return out, nil
}

// Signer returns the key that signs new codes and its private key.
func (r *KeyRing) Signer(ctx context.Context) (KeyID, ed25519.PrivateKey, error) {
	keys, err := r.current(ctx)
	if err != nil {
		return 0, nil, err
	}
	now := r.store.clock()
	for _, k := range keys { // newest first
		if k.NotAfter != nil || now.Before(k.NotBefore) {
			continue
		}
		r.mu.Lock()
		priv, ok := r.private[k.ID]
		r.mu.Unlock()
		if !ok {
			seed, err := r.store.seal.Open(sealLabel(k.ID), k.sealed)
			if err != nil {
				return 0, nil, fmt.Errorf("ecard: open signing key %s: %w", k.ID, err)
			}
			priv = ed25519.NewKeyFromSeed(seed)
			r.mu.Lock()
			r.private[k.ID] = priv
			r.mu.Unlock()
		}
		return k.ID, priv, nil
	}
	return 0, nil, ErrNoSigningKey
}

// Verifier returns the PublicKeys of the ring as of its last load,
// reloading once (at most every second) for a key id it does not know.
// Its Err says whether reading the keys failed (then a refusal is not the
// code's fault).
func (r *KeyRing) Verifier(ctx context.Context) *ringKeys {
	return &ringKeys{r: r, ctx: ctx}
}

type ringKeys struct {
	r   *KeyRing
	ctx context.Context
	err error
}

func (k *ringKeys) PublicKey(id KeyID, now time.Time) (ed25519.PublicKey, bool) {
	keys, err := k.r.current(k.ctx)
	if err != nil {
		k.err = err
		return nil, false
	}
	if key, ok := find(keys, id); ok {
		return key.Public, key.acceptedAt(now)
	}
	k.r.mu.Lock()
	retry := now.Sub(k.r.missAt) >= missEvery
	if retry {
		k.r.missAt = now
	}
	k.r.mu.Unlock()
	if !retry {
		return nil, false
	}
	if err := k.r.Load(k.ctx); err != nil {
		k.err = err
		return nil, false
	}
	keys, _ = k.r.current(k.ctx)
	if key, ok := find(keys, id); ok {
		return key.Public, key.acceptedAt(now)
	}
	return nil, false
}

func find(keys []Key, id KeyID) (Key, bool) {
	for _, k := range keys {
		if k.ID == id {
			return k, true
		}
	}
	return Key{}, false
}

// Err is the first error met reading the keys (nil: every answer came
// from the table as read).
func (k *ringKeys) Err() error { return k.err }
