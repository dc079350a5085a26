package chain

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"github.com/cardledger/cardledger/eventstore"
)

// BreakKind says how a chain is broken.
type BreakKind string

const (
	// Altered: the stored hash is not the hash of the stored event (its
	// content, or an earlier event, changed after it was written).
	Altered BreakKind = "altered"
	// Gap: a revision is missing (an event was removed).
	Gap BreakKind = "gap"
	// Unchained: the event has no hash at all.
	Unchained BreakKind = "unchained"
	// Truncated: the stream ends before a revision it is known to reach.
	Truncated BreakKind = "truncated"
)

// BreakError names the first broken link of a stream.
type BreakError struct {
	Stream   string
	Revision uint64 // the revision expected or found broken
	Kind     BreakKind
	// Want and Found are, for Altered, the recomputed and the stored hash;
	// for Gap and Truncated, the revision expected and the one found
	// (Found empty at the end of a stream).
	Want, Found string
}

func (e *BreakError) Error() string {
	switch e.Kind {
	case Gap, Truncated:
		return fmt.Sprintf("stream %s: %s at revision %d: expected revision %s, found %s", e.Stream, e.Kind, e.Revision, e.Want, e.Found)
	case Unchained:
		return fmt.Sprintf("stream %s revision %d: unchained (no hash stored)", e.Stream, e.Revision)
	default:
		return fmt.Sprintf("stream %s revision %d: %s: expected hash %s, found %s", e.Stream, e.Revision, e.Kind, e.Want, e.Found)
	}
}

// Walker verifies one stream's events fed in revision order. The zero
// value is ready for a stream read from revision 0; use Resume to start
// after a trusted event.
type Walker struct {
	next uint64
	prev []byte
}

// Resume returns a Walker that continues after a trusted event at revision
// rev with hash hash.
func Resume(rev uint64, hash []byte) Walker {
	return Walker{next: rev + 1, prev: bytes.Clone(hash)}
}

// Next checks e against the chain so far and advances. A broken link is a
// *BreakError; after one, the Walker follows the stored hash so later
// calls report only later breaks.
func (w *Walker) Next(e eventstore.RecordedEvent) error {
	defer func() { w.next, w.prev = e.Revision+1, e.Hash }()
	if e.Revision != w.next {
		return &BreakError{Stream: e.Stream, Revision: w.next, Kind: Gap,
			Want: fmt.Sprint(w.next), Found: fmt.Sprint(e.Revision)}
	}
	if len(e.Hash) == 0 {
		return &BreakError{Stream: e.Stream, Revision: e.Revision, Kind: Unchained}
	}
	want := Hash(w.prev, Event{Stream: e.Stream, Revision: e.Revision, ID: e.ID, Type: e.Type, Data: e.Data, Metadata: e.Metadata})
	if !bytes.Equal(want, e.Hash) {
		return &BreakError{Stream: e.Stream, Revision: e.Revision, Kind: Altered,
			Want: hex.EncodeToString(want), Found: hex.EncodeToString(e.Hash)}
	}
	return nil
}

// Last returns the revision and hash of the last event checked; ok is false
// before the first.
func (w *Walker) Last() (rev uint64, hash []byte, ok bool) {
	if w.next == 0 {
		return 0, nil, false
	}
	return w.next - 1, w.prev, true
}
