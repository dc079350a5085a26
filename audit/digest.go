package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
)

// Head is a stream's last event as a digest records it.
type Head struct {
	Stream   string   `json:"stream"`
	Revision uint64   `json:"revision"`
	Hash     HexBytes `json:"hash"`
}

// HexBytes is JSON as a lowercase hex string.
type HexBytes []byte

func (h HexBytes) MarshalJSON() ([]byte, error) { return json.Marshal(hex.EncodeToString(h)) }

func (h *HexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	if err != nil {
		return err
	}
	*h = d
	return nil
}

// Digest is a signed statement of every stream's head at a position of
// the log. Its file form is its JSON.
type Digest struct {
	Version   int       `json:"version"`
	ID        int64     `json:"id"` // in the audit.digests table; 0 before it is stored
	CreatedAt time.Time `json:"created_at"`
	// Position is the log position (eventstore.Position.String) up to
	// which Heads are complete.
	Position  string   `json:"position"`
	Root      HexBytes `json:"root"`
	PublicKey HexBytes `json:"public_key"`
	Signature HexBytes `json:"signature"`
	Heads     []Head   `json:"heads"`
}

const (
	rootTag    = "cardledger/digest/v1/heads"
	messageTag = "cardledger/digest/v1"
)

// Root is SHA-256 over "cardledger/digest/v1/heads" and, for each head in
// byte order of stream names, u64(len(stream)) stream u64(revision)
// u64(len(hash)) hash (u64 big-endian). heads must be sorted.
func Root(heads []Head) []byte {
	h := sha256.New()
	var n [8]byte
	put := func(v uint64) {
		binary.BigEndian.PutUint64(n[:], v)
		h.Write(n[:])
	}
	h.Write([]byte(rootTag))
	for _, hd := range heads {
		put(uint64(len(hd.Stream)))
		h.Write([]byte(hd.Stream))
		put(hd.Revision)
		put(uint64(len(hd.Hash)))
		h.Write(hd.Hash)
	}
	return h.Sum(nil)
}

// message is what the signature covers: "cardledger/digest/v1",
// u64(created_at in Unix microseconds), u64(len(position)) position,
// u64(number of heads), root.
func (d *Digest) message() []byte {
	m := []byte(messageTag)
	m = binary.BigEndian.AppendUint64(m, uint64(d.CreatedAt.UnixMicro()))
	m = binary.BigEndian.AppendUint64(m, uint64(len(d.Position)))
	m = append(m, d.Position...)
	m = binary.BigEndian.AppendUint64(m, uint64(len(d.Heads)))
	return append(m, d.Root...)
}

// NewDigest sorts heads, computes the root and signs.
func NewDigest(key ed25519.PrivateKey, at time.Time, position eventstore.Position, heads []Head) *Digest {
	heads = slices.Clone(heads)
	slices.SortFunc(heads, func(a, b Head) int { return strings.Compare(a.Stream, b.Stream) })
	d := &Digest{Version: 1, CreatedAt: at.UTC().Truncate(time.Microsecond), Position: position.String(),
		Heads: heads, Root: Root(heads), PublicKey: HexBytes(key.Public().(ed25519.PublicKey))}
	d.Signature = ed25519.Sign(key, d.message())
	return d
}

var (
	// ErrBadSignature: the digest was not signed by the trusted key, or was
	// changed after signing.
	ErrBadSignature = errors.New("digest signature does not verify")
	// ErrBadDigest: the digest is inconsistent in itself.
	ErrBadDigest = errors.New("malformed digest")
)

// CheckSignature checks that d is intact and signed by trusted.
func (d *Digest) CheckSignature(trusted ed25519.PublicKey) error {
	if d.Version != 1 {
		return fmt.Errorf("%w: version %d", ErrBadDigest, d.Version)
	}
	if !slices.IsSortedFunc(d.Heads, func(a, b Head) int { return strings.Compare(a.Stream, b.Stream) }) {
		return fmt.Errorf("%w: heads not sorted by stream", ErrBadDigest)
	}
	if !bytes.Equal(Root(d.Heads), d.Root) {
		return fmt.Errorf("%w: root does not match the heads", ErrBadDigest)
	}
	if !ed25519.Verify(trusted, d.message(), d.Signature) {
		return ErrBadSignature
	}
	return nil
}

// DigestReport is the outcome of VerifyDigest.
type DigestReport struct {
	Streams int
	Events  uint64
	Breaks  []*chain.BreakError
}

// OK reports whether history up to the digest is as it was.
func (r DigestReport) OK() bool { return len(r.Breaks) == 0 }

// VerifyDigest checks d's signature with trusted, then that every head it
// lists is still in store with the same hash and that each stream's chain
// up to it holds. progress, if set, is called after each stream.
func VerifyDigest(ctx context.Context, store eventstore.Store, d *Digest, trusted ed25519.PublicKey, progress func(Progress)) (DigestReport, error) {
	if err := d.CheckSignature(trusted); err != nil {
		return DigestReport{}, err
	}
	var r DigestReport
	start := time.Now()
	for _, hd := range d.Heads {
		r.Streams++
		be, n, err := verifyHead(ctx, store, hd)
		r.Events += n
		if err != nil {
			return r, err
		}
		if be != nil {
			r.Breaks = append(r.Breaks, be)
		}
		if progress != nil {
			progress(Progress{Events: r.Events, Streams: r.Streams, Broken: len(r.Breaks), Elapsed: time.Since(start)})
		}
	}
	return r, nil
}

// verifyHead walks hd's stream from revision 0 to hd.Revision.
func verifyHead(ctx context.Context, store eventstore.Store, hd Head) (*chain.BreakError, uint64, error) {
	const page = 5000
	var (
		w    chain.Walker
		seen uint64
	)
	for from := uint64(0); from <= hd.Revision; {
		limit := int(min(uint64(page), hd.Revision-from+1))
		events, err := store.ReadStream(ctx, hd.Stream, from, limit)
		if errors.Is(err, eventstore.ErrStreamNotFound) {
			events, err = nil, nil
		}
		if err != nil {
			return nil, seen, fmt.Errorf("verify digest: %w", err)
		}
		for _, e := range events {
			seen++
			if err := w.Next(e); err != nil {
				var be *chain.BreakError
				if errors.As(err, &be) {
					return be, seen, nil
				}
				return nil, seen, err
			}
			if e.Revision == hd.Revision {
				if !bytes.Equal(e.Hash, hd.Hash) {
					return &chain.BreakError{Stream: hd.Stream, Revision: hd.Revision, Kind: chain.Altered,
						Want: hex.EncodeToString(hd.Hash), Found: hex.EncodeToString(e.Hash)}, seen, nil
				}
				return nil, seen, nil
			}
		}
		if len(events) < limit {
			found := "end of stream"
			if rev, _, ok := w.Last(); ok {
				found = fmt.Sprintf("end of stream after %d", rev)
			}
			return &chain.BreakError{Stream: hd.Stream, Revision: hd.Revision, Kind: chain.Truncated,
				Want: fmt.Sprint(hd.Revision), Found: found}, seen, nil
		}
		from = events[len(events)-1].Revision + 1
	}
	return nil, seen, nil
}

func (h HexBytes) String() string { return hex.EncodeToString(h) }
