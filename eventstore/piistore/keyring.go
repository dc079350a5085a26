package piistore

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// dataKeySize: data keys are AES-256.
const dataKeySize = 32

var (
	// ErrUnknownMasterKey: a data key is wrapped by a master key this process
	// was not given (add it to CARDLEDGER_MASTER_KEY_OLD until rotation is done).
	ErrUnknownMasterKey = errors.New("data key wrapped by a master key that is not configured")
	// ErrNoDataKey: sealed data names a data key the key table does not have.
	ErrNoDataKey = errors.New("no such data key")
	// ErrCorrupt: stored personal data or a wrapped key fails to decrypt or parse.
	ErrCorrupt = errors.New("stored personal data is damaged")
)

// KeyringOptions bound the in-memory cache of unwrapped data keys.
type KeyringOptions struct {
	CacheSize int           // subjects kept; default 50000
	CacheTTL  time.Duration // default 5 minutes
	Now       func() time.Time
}

// Keyring keeps per-person data keys in PostgreSQL (table pii_data_keys),
// wrapped by the current master key or by an older one that is still
// configured for a rotation in progress.
type Keyring struct {
	pool    *pgxpool.Pool
	current MasterKey
	masters map[string]MasterKey // by id; current included
	cache   *keyCache
	opened  *openedCache // events opened with cache's keys
	// onErasure are told what Listen learns (OnErasure).
	onErasure []func(subject string)
}

// NewKeyring seals new data keys under current and unwraps keys under
// current or any of old.
func NewKeyring(pool *pgxpool.Pool, current MasterKey, old []MasterKey, opts KeyringOptions) (*Keyring, error) {
	if current.IsZero() {
		return nil, errors.New("piistore: keyring needs a master key")
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 50000
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 5 * time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	k := &Keyring{pool: pool, current: current, masters: map[string]MasterKey{current.id: current},
		cache: newKeyCache(opts.CacheSize, opts.CacheTTL, opts.Now), opened: newOpenedCache(openedCacheSize)}
	for _, m := range old {
		if !m.IsZero() {
			k.masters[m.id] = m
		}
	}
	return k, nil
}

// CurrentMasterKeyID names the key new data keys are wrapped by.
func (k *Keyring) CurrentMasterKeyID() string { return k.current.id }

// wrapAAD binds a wrapped key to its subject and master key, so a row
// copied onto another person does not unwrap.
func wrapAAD(subject, masterID string) []byte {
	return []byte("cardledger/pii/data-key/v1\x00" + subject + "\x00" + masterID)
}

func wrap(m MasterKey, subject string, dataKey []byte) ([]byte, error) {
	return sealBytes(m.key, dataKey, wrapAAD(subject, m.id))
}

func (k *Keyring) unwrap(subject string, wrapped []byte, masterID string) ([]byte, error) {
	m, ok := k.masters[masterID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMasterKey, masterID)
	}
	key, err := openBytes(m.key, wrapped, wrapAAD(subject, masterID))
	if err != nil || len(key) != dataKeySize {
		return nil, fmt.Errorf("%w: data key of %s does not unwrap under master key %s", ErrCorrupt, subject, masterID)
	}
	return key, nil
}

// sealBytes is AES-256-GCM with a random nonce; the result is nonce‖ciphertext.
func sealBytes(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return aead.Seal(nonce, nonce, plaintext, aad), nil
}

func openBytes(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrCorrupt
	}
	n := aead.NonceSize()
	return aead.Open(nil, sealed[:n], sealed[n:], aad)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// keysOf returns the cached or stored keys of every subject, loading the
// missing ones in one query. Subjects without any row are absent.
func (k *Keyring) keysOf(ctx context.Context, subjects []string) (map[string]*subjectKeys, error) {
	out := make(map[string]*subjectKeys, len(subjects))
	var missing []string
	for _, s := range subjects {
		if _, done := out[s]; done {
			continue
		}
		if sk, ok := k.cache.get(s); ok {
			out[s] = sk
			continue
		}
		out[s] = nil
		missing = append(missing, s)
	}
	if len(missing) > 0 {
		loaded, err := k.load(ctx, missing)
		if err != nil {
			return nil, err
		}
		for _, s := range missing {
			out[s] = loaded[s]
		}
	}
	for s, sk := range out {
		if sk == nil {
			delete(out, s)
		}
	}
	return out, nil
}

// load reads the rows of subjects, unwraps their live keys and caches them.
func (k *Keyring) load(ctx context.Context, subjects []string) (map[string]*subjectKeys, error) {
	seen := k.cache.erasureCount()
	rows, err := k.pool.Query(ctx, `SELECT subject, generation, wrapped, master_key_id
		FROM pii_data_keys WHERE subject = ANY($1)`, subjects)
	if err != nil {
		return nil, fmt.Errorf("load data keys: %w", err)
	}
	defer rows.Close()
	found := map[string]*subjectKeys{}
	for rows.Next() {
		var (
			subject  string
			gen      int
			wrapped  []byte
			masterID *string
		)
		if err := rows.Scan(&subject, &gen, &wrapped, &masterID); err != nil {
			return nil, fmt.Errorf("load data keys: %w", err)
		}
		sk := found[subject]
		if sk == nil {
			sk = &subjectKeys{subject: subject, keys: map[int][]byte{}, erased: map[int]bool{}}
			found[subject] = sk
		}
		if wrapped == nil || masterID == nil {
			sk.erased[gen] = true
			continue
		}
		key, err := k.unwrap(subject, wrapped, *masterID)
		if err != nil {
			return nil, err
		}
		sk.keys[gen] = key
		if gen > sk.current {
			sk.current = gen
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load data keys: %w", err)
	}
	for _, sk := range found {
		k.cache.putLoaded(sk, seen)
	}
	return found, nil
}

// writeKey is the key new data of a subject is sealed under.
type writeKey struct {
	gen int
	key []byte
}

// currentKeys returns every subject's current data key, creating one for
// subjects that have none (or whose keys are all erased: data given after
// an erasure is sealed under a new generation).
func (k *Keyring) currentKeys(ctx context.Context, subjects []string) (map[string]writeKey, error) {
	out := make(map[string]writeKey, len(subjects))
	fill := func(known map[string]*subjectKeys) []string {
		var need []string
		for _, s := range subjects {
			if _, ok := out[s]; ok {
				continue
			}
			if sk := known[s]; sk != nil && sk.current != 0 {
				out[s] = writeKey{gen: sk.current, key: sk.keys[sk.current]}
				continue
			}
			need = append(need, s)
		}
		return need
	}
	known, err := k.keysOf(ctx, subjects)
	if err != nil {
		return nil, err
	}
	need := fill(known)
	if len(need) == 0 {
		return out, nil
	}
	if err := k.create(ctx, need); err != nil {
		return nil, err
	}
	for _, s := range need {
		k.cache.evict(s)
	}
	known, err = k.keysOf(ctx, need)
	if err != nil {
		return nil, err
	}
	if still := fill(known); len(still) > 0 {
		return nil, fmt.Errorf("create data keys: %d subjects still have none (erased concurrently?)", len(still))
	}
	return out, nil
}

// create inserts a fresh key generation for each subject that has no live
// key. Concurrent creators race on the primary key; the loser's row is
// dropped and both then read the winner's.
func (k *Keyring) create(ctx context.Context, subjects []string) error {
	wrapped := make([][]byte, len(subjects))
	for i, s := range subjects {
		dk := make([]byte, dataKeySize)
		if _, err := rand.Read(dk); err != nil {
			return err
		}
		w, err := wrap(k.current, s, dk)
		if err != nil {
			return err
		}
		wrapped[i] = w
	}
	_, err := k.pool.Exec(ctx, `
		INSERT INTO pii_data_keys (subject, generation, wrapped, master_key_id)
		SELECT n.subject, coalesce((SELECT max(generation) FROM pii_data_keys d WHERE d.subject = n.subject), 0) + 1, n.wrapped, $3
		FROM unnest($1::text[], $2::bytea[]) AS n(subject, wrapped)
		WHERE NOT EXISTS (SELECT 1 FROM pii_data_keys d WHERE d.subject = n.subject AND d.erased_at IS NULL)
		ON CONFLICT DO NOTHING`, subjects, wrapped, k.current.id)
	if err != nil {
		return fmt.Errorf("create data keys: %w", err)
	}
	return nil
}

// Erase deletes every data key of subject, so everything sealed under them
// reads as erased from now on, and records the erasure (generation 0).
// Idempotent.
func (k *Keyring) Erase(ctx context.Context, subject string) error {
	err := pgx.BeginFunc(ctx, k.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE pii_data_keys SET wrapped = NULL, master_key_id = NULL, erased_at = now()
			WHERE subject = $1 AND erased_at IS NULL`, subject); err != nil {
			return err
		}
		// The blobs could no longer be opened; they go with their keys.
		if _, err := tx.Exec(ctx, `DELETE FROM pii_blobs WHERE subject = $1`, subject); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO pii_data_keys (subject, generation, erased_at) VALUES ($1, 0, now())
			ON CONFLICT DO NOTHING`, subject); err != nil {
			return err
		}
		// Every other process's keyring drops its cached keys at commit (Listen).
		_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", ErasureChannel, subject)
		return err
	})
	k.cache.forget(subject)
	if err != nil {
		return fmt.Errorf("erase data keys of %s: %w", subject, err)
	}
	return nil
}
