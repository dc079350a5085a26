package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
)

// digestOf projects everything and signs a digest.
func (e *env) digestOf() *Digest {
	e.t.Helper()
	e.project()
	dg, err := NewDigester(e.pool, e.store, e.key).Create(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return dg
}

func (e *env) trusted() ed25519.PublicKey { return e.key.Public().(ed25519.PublicKey) }

func TestDigestOfUntouchedHistoryVerifies(t *testing.T) {
	e := newEnv(t)
	e.appendN("card-1", 3, counter, "")
	e.appendN("card-2", 2, counter, "")
	dg := e.digestOf()
	if len(dg.Heads) != 2 || dg.Heads[0].Stream != "card-1" || dg.Heads[0].Revision != 2 || dg.Heads[1].Revision != 1 {
		t.Fatalf("heads = %+v, want card-1@2 and card-2@1", dg.Heads)
	}

	// Later appends, and the digest's own announcement, leave it valid.
	e.appendN("card-1", 2, counter, "")
	stored, err := LoadDigest(e.ctx, e.pool, dg.ID)
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range map[string]*Digest{"created": dg, "loaded": stored, "from file": fileRoundTrip(t, stored)} {
		r, err := VerifyDigest(e.ctx, e.store, d, e.trusted(), nil)
		if err != nil || !r.OK() || r.Streams != 2 || r.Events != 5 {
			t.Errorf("%s: VerifyDigest = %+v, %v; want 2 streams, 5 events, no breaks", name, r, err)
		}
	}
	announced, err := e.store.ReadStream(e.ctx, DigestStream, 0, 0)
	if err != nil || len(announced) != 1 || announced[0].Type != DigestSignedType {
		t.Fatalf("announcements = %v, %v", announced, err)
	}
	var ann DigestSigned
	if err := json.Unmarshal(announced[0].Data, &ann); err != nil || ann.DigestID != dg.ID || ann.Streams != 2 {
		t.Errorf("announcement = %+v, %v", ann, err)
	}
	// Its metadata is the one envelope every event has, id and schema
	// version included.
	var md domain.Metadata
	if err := json.Unmarshal(announced[0].Metadata, &md); err != nil {
		t.Fatal(err)
	}
	want := domain.Metadata{EventID: announced[0].ID.String(), SchemaVersion: DigestSignedVersion,
		OccurredAt: dg.CreatedAt, Actor: domain.Actor{Client: "audit"}, Channel: "audit"}
	if !md.OccurredAt.Equal(want.OccurredAt) || md.SchemaVersion != 1 {
		t.Errorf("metadata = %+v, want %+v", md, want)
	}
	md.OccurredAt = want.OccurredAt
	if md != want {
		t.Errorf("metadata = %+v, want %+v", md, want)
	}
}

func fileRoundTrip(t *testing.T, d *Digest) *Digest {
	t.Helper()
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var out Digest
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

// A rewriter with database rights who recomputes every hash keeps the
// chain valid; the digest still catches it.
func TestDigestCatchesRewrittenHistory(t *testing.T) {
	e := newEnv(t)
	e.appendN("card-1", 4, counter, "")
	dg := e.digestOf()

	events, err := e.store.ReadStream(e.ctx, "card-1", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var prev []byte
	for i, ev := range events {
		if i == 1 {
			ev.Data = []byte(`{"i":"forged"}`)
		}
		h := chain.Hash(prev, chain.Event{Stream: ev.Stream, Revision: ev.Revision, ID: ev.ID, Type: ev.Type, Data: ev.Data, Metadata: ev.Metadata})
		if i >= 1 {
			e.tamper(`UPDATE eventstore_events SET data = $1, hash = $2 WHERE stream = 'card-1' AND revision = $3`, ev.Data, h, int64(ev.Revision))
		}
		prev = h
	}
	if r, err := Verify(e.ctx, e.store, VerifyOptions{}); err != nil || !r.OK() {
		t.Fatalf("the rewritten chain should verify on its own: %+v, %v", r, err)
	}

	r, err := VerifyDigest(e.ctx, e.store, dg, e.trusted(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Breaks) != 1 || r.Breaks[0].Stream != "card-1" || r.Breaks[0].Revision != 3 || r.Breaks[0].Kind != chain.Altered ||
		r.Breaks[0].Want != dg.Heads[0].Hash.String() {
		t.Errorf("breaks = %v, want card-1 head at 3 altered from %s", r.Breaks, dg.Heads[0].Hash)
	}
}

func TestDigestCatchesRemovedLastEvent(t *testing.T) {
	e := newEnv(t)
	e.appendN("card-1", 3, counter, "")
	dg := e.digestOf()
	e.tamper(`DELETE FROM eventstore_events WHERE stream = 'card-1' AND revision = 2`)

	r, err := VerifyDigest(e.ctx, e.store, dg, e.trusted(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := chain.BreakError{Stream: "card-1", Revision: 2, Kind: chain.Truncated, Want: "2", Found: "end of stream after 1"}
	if len(r.Breaks) != 1 || *r.Breaks[0] != want {
		t.Errorf("breaks = %v, want %v", r.Breaks, &want)
	}
}

func TestDigestSignature(t *testing.T) {
	heads := []Head{{Stream: "b", Revision: 1, Hash: bytes.Repeat([]byte{2}, 32)}, {Stream: "a", Revision: 0, Hash: bytes.Repeat([]byte{1}, 32)}}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	d := NewDigest(key, fixedTime, eventstore.Position{Commit: 5, Prepare: 6}, heads)
	if d.Heads[0].Stream != "a" {
		t.Fatalf("heads not sorted: %+v", d.Heads)
	}
	tests := []struct {
		name    string
		change  func(d *Digest)
		trusted ed25519.PublicKey
		want    error
	}{
		{"intact", func(*Digest) {}, key.Public().(ed25519.PublicKey), nil},
		{"other key", func(*Digest) {}, other.Public().(ed25519.PublicKey), ErrBadSignature},
		{"re-signed by another key that it names", func(d *Digest) {
			*d = *NewDigest(other, d.CreatedAt, eventstore.Position{Commit: 5, Prepare: 6}, d.Heads)
		}, key.Public().(ed25519.PublicKey), ErrBadSignature},
		{"head changed", func(d *Digest) { d.Heads[1].Revision = 0 }, key.Public().(ed25519.PublicKey), ErrBadDigest},
		{"head dropped with root recomputed", func(d *Digest) { d.Heads = d.Heads[:1]; d.Root = Root(d.Heads) }, key.Public().(ed25519.PublicKey), ErrBadSignature},
		{"position changed", func(d *Digest) { d.Position = "5-7" }, key.Public().(ed25519.PublicKey), ErrBadSignature},
		{"time changed", func(d *Digest) { d.CreatedAt = d.CreatedAt.Add(1) }, key.Public().(ed25519.PublicKey), nil}, // below a microsecond
		{"time changed a microsecond", func(d *Digest) { d.CreatedAt = d.CreatedAt.Add(1000) }, key.Public().(ed25519.PublicKey), ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := fileRoundTrip(t, d)
			tc.change(c)
			if err := c.CheckSignature(tc.trusted); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("CheckSignature = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseSigningKey(t *testing.T) {
	seed := bytes.Repeat([]byte{0xab}, 32)
	want := ed25519.NewKeyFromSeed(seed)
	for _, s := range []string{
		"abababababababababababababababababababababababababababababababab",
		"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=",
		" q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s\n",
	} {
		k, err := ParseSigningKey(s)
		if err != nil || !k.Equal(want) {
			t.Errorf("ParseSigningKey(%q) = %x, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "abab", "not a key"} {
		if _, err := ParseSigningKey(s); err == nil {
			t.Errorf("ParseSigningKey(%q) accepted", s)
		}
	}
}

var fixedTime = time.Date(2026, 3, 1, 8, 0, 0, 123456000, time.UTC)
