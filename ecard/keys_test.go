package ecard

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/testpg"
)

// fakeClock is a settable clock shared by a test and the code under test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func sealKeys(t testing.TB, b byte, old ...byte) *auth.SecretKeys {
	var olds [][]byte
	for _, o := range old {
		olds = append(olds, bytes.Repeat([]byte{o}, 32))
	}
	k, err := auth.NewSecretKeys(bytes.Repeat([]byte{b}, 32), olds...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newKeyPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := testpg.NewPool(t, testpg.NewDatabase(t))
	if err := Migrate(context.Background(), pool); err != nil {
		t.Fatal(err)
	}
	return pool
}

func issueWith(t *testing.T, ring *KeyRing, c Claims) string {
	t.Helper()
	kid, priv, err := ring.Signer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.KeyID = kid
	return mustEncode(t, c, priv)
}

// TestRotationOverlap: after a rotation the new key signs at once; a code
// of the old key verifies until the old key's retirement and is
// ErrBadSignature after it; the key list shows both, then only the new one.
func TestRotationOverlap(t *testing.T) {
	ctx := context.Background()
	pool := newKeyPool(t)
	clock := &fakeClock{t: codeNow}
	store, err := NewKeyStore(pool, sealKeys(t, 1), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := store.Ensure(ctx); err != nil { // idempotent: still one key
		t.Fatal(err)
	}
	ring := NewKeyRing(store, time.Second)
	first, err := ring.Published(ctx)
	if err != nil || len(first) != 1 || first[0].NotAfter != nil {
		t.Fatalf("after Ensure twice: %+v, %v", first, err)
	}
	claims := testClaims("rsapp")
	claims.Expiry = codeNow.Add(time.Hour) // outlives the overlap: only the key decides
	oldCode := issueWith(t, ring, claims)

	const ttl = time.Minute
	if _, err := store.Rotate(ctx, ttl+MaxClockSkew-time.Second, ttl); err == nil {
		t.Fatal("an overlap shorter than TTL + skew was accepted")
	}
	overlap := ttl + MaxClockSkew
	newKey, err := store.Rotate(ctx, overlap, ttl)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Second) // past the ring's refresh
	kid, _, err := ring.Signer(ctx)
	if err != nil || kid != newKey.ID {
		t.Fatalf("signer %s (%v), want the new key %s", kid, err, newKey.ID)
	}
	pub, _ := ring.Published(ctx)
	if len(pub) != 2 || pub[0].ID != newKey.ID || pub[1].NotAfter == nil || !pub[1].NotAfter.Equal(codeNow.Add(overlap)) {
		t.Fatalf("published during the overlap: %+v", pub)
	}
	if _, err := Parse(oldCode, ring.Verifier(ctx), clock.Now()); err != nil {
		t.Fatalf("old key's code during the overlap: %v", err)
	}
	newCode := issueWith(t, ring, claims)

	clock.Add(overlap) // past the retirement
	if _, err := Parse(oldCode, ring.Verifier(ctx), clock.Now()); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("old key's code after retirement: %v, want ErrBadSignature", err)
	}
	if _, err := Parse(newCode, ring.Verifier(ctx), clock.Now()); err != nil {
		t.Fatalf("new key's code: %v", err)
	}
	pub, _ = ring.Published(ctx)
	if len(pub) != 1 || pub[0].ID != newKey.ID {
		t.Fatalf("published after retirement: %+v", pub)
	}
}

// TestSeedsAreSealed: no seed is stored in clear, a master-key rotation
// reseals them (Ensure with the new key current), and the signer still
// signs with the same key.
func TestSeedsAreSealed(t *testing.T) {
	ctx := context.Background()
	pool := newKeyPool(t)
	store, _ := NewKeyStore(pool, sealKeys(t, 1), time.Now)
	if err := store.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	ring := NewKeyRing(store, time.Nanosecond)
	kid, priv, err := ring.Signer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sealed []byte
	if err := pool.QueryRow(ctx, `SELECT sealed_seed FROM ecard.signing_keys`).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, priv.Seed()) || !bytes.HasPrefix(sealed, []byte("sk1:")) {
		t.Fatal("the seed is stored in clear")
	}
	// The master key rotates: the new store reseals with the old one still given.
	rotated, _ := NewKeyStore(pool, sealKeys(t, 2, 1), time.Now)
	if err := rotated.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	var resealed []byte
	if err := pool.QueryRow(ctx, `SELECT sealed_seed FROM ecard.signing_keys`).Scan(&resealed); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(resealed, sealed) {
		t.Fatal("not resealed under the new key")
	}
	onlyNew, _ := NewKeyStore(pool, sealKeys(t, 2), time.Now)
	kid2, priv2, err := NewKeyRing(onlyNew, 0).Signer(ctx)
	if err != nil || kid2 != kid || !bytes.Equal(priv2, priv) {
		t.Fatalf("after resealing: key %s (%v), want %s and the same private key", kid2, err, kid)
	}
	// A seed sealed under another key id's label does not open.
	if _, err := sealKeys(t, 2).Open(sealLabel(kid+1), resealed); err == nil {
		t.Fatal("a sealed seed opened under another key's label")
	}
}
