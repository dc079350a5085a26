// Package eventstore is the port every part of cardledger uses to write and
// read events. Adapters live in sub-packages: eventstore/pgstore (PostgreSQL)
// and eventstore/esdbstore (EventStoreDB). Every adapter passes the one
// conformance suite in eventstore/storetest.
//
// Invariants every adapter guarantees:
//   - Stream revisions count from 0 and are contiguous.
//   - An append is atomic: readers of a stream or of $all see all of its
//     events or none of them.
//   - Append with an expected revision fails with *WrongRevisionError
//     (errors.Is(err, ErrWrongRevision)) when the stream is elsewhere.
//   - Appending events whose ids are already the stream's last events at the
//     same expected revision succeeds without writing them again (idempotent
//     retry) and returns the original result, with Retried set (where the
//     adapter can tell: RetryReporter).
//   - Positions in the global log are totally ordered; ReadAll and SubscribeAll
//     deliver events in position order and never skip an event that commits
//     later with a lower position than one already delivered.
//   - Every appended event carries Hash, chaining it to the previous event of
//     its stream by the rule of eventstore/chain. The append that writes it
//     checks, in the same atomic step as the write, that the previous event
//     it chained to is the one stored (by computing the hash from it, or by
//     comparing revision and hash), so concurrent appends cannot fork a
//     chain.
//   - An append whose events exceed MaxAppendSize (counted by AppendSize)
//     fails with *AppendTooLargeError (errors.Is(err, ErrAppendTooLarge))
//     and writes nothing, on every adapter: EventStoreDB refuses such
//     appends, so writers that batch must split (SplitBySize) everywhere.
//   - Whether an event id stored before may be stored again (other than
//     by an idempotent retry) depends on the store: an adapter that keeps
//     ids unique store-wide says so with UniqueEventIDs and refuses such
//     an append with ErrDuplicateEventID; EventStoreDB checks ids only to
//     recognise retries and stores such an event. Writers must not rely on
//     the store to find a reused id.
//
// An adapter may also implement MultiAppender, appending to many streams in
// one atomic call (pgstore does, in one transaction; EventStoreDB has no
// multi-stream transaction, so esdbstore does not). Callers test for it and
// keep a per-stream path: AppendMany is an optimisation, never a
// requirement. Its invariants:
//   - All streams are written or none is; readers see all of it or nothing.
//   - Each stream's part follows the rules of Append: its own expectation,
//     idempotent retry, chaining. One failed expectation fails the whole
//     call with that stream's *WrongRevisionError.
//   - A stream may appear only once in a call.
//   - Each stream's part obeys MaxAppendSize on its own (on EventStoreDB
//     it would be its own append); the call as a whole has no limit.
//   - A wrapper that implements the method but cannot serve it (its inner
//     store is no MultiAppender) fails with ErrAppendManyUnsupported
//     before doing anything.
//
// An adapter may also implement RowAppender, inserting one row of another
// table of its database in the same transaction as an append (pgstore
// does; EventStoreDB has no other tables, so esdbstore does not). A writer
// that must record something exactly when its events are written (the
// commands' Idempotency-Key record) saves a transaction of its own. Its
// invariants:
//   - The events follow the rules of Append; the row is inserted exactly
//     when they are written: both or neither.
//   - A row that collides with a unique key of its table fails the whole
//     append with ErrRowConflict (errors.Is); nothing is written.
//   - When the events were written already by an earlier identical append
//     (Append's idempotent retry), the original result is returned and the
//     row is not inserted (rowWritten false): it went with the first.
//   - A wrapper that implements the method but cannot serve it (its inner
//     store is no RowAppender) fails with ErrRowAppendUnsupported before
//     doing anything.
package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Store is the event-store port.
type Store interface {
	// Append writes events to the end of stream if the stream is at expected.
	Append(ctx context.Context, stream string, expected ExpectedRevision, events []EventData) (AppendResult, error)
	// ReadStream returns up to limit events of stream, forwards, starting at
	// revision from (inclusive). limit <= 0 means all. A stream that does not
	// exist gives ErrStreamNotFound.
	ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]RecordedEvent, error)
	// ReadAll returns up to limit events of the global log strictly after
	// position after, in position order. Use Start to read from the beginning.
	ReadAll(ctx context.Context, after Position, limit int) ([]RecordedEvent, error)
	// SubscribeAll calls handle for every event strictly after position after:
	// first the stored ones (catch-up), then new ones as they commit (live).
	// It returns when ctx ends (ctx.Err()) or handle returns an error.
	SubscribeAll(ctx context.Context, after Position, handle func(RecordedEvent) error) error
	// Head returns the position and time of the last event in the global log;
	// ok is false for an empty store.
	Head(ctx context.Context) (head Head, ok bool, err error)
	Close() error
}

// MultiAppender is the optional multi-stream append; see the package doc.
type MultiAppender interface {
	// AppendMany appends every StreamAppend atomically and returns one
	// result per stream, in the order given.
	AppendMany(ctx context.Context, appends []StreamAppend) ([]AppendResult, error)
}

// RowAppender is the optional append with a row; see the package doc.
type RowAppender interface {
	// AppendWithRow appends events as Append does and inserts row in the
	// same transaction; rowWritten is false when the events were there
	// already (idempotent retry) and nothing was written.
	AppendWithRow(ctx context.Context, stream string, expected ExpectedRevision, events []EventData, row Row) (res AppendResult, rowWritten bool, err error)
}

// Row is one row of a table in the event store's database: Values[i] goes
// into Columns[i]; columns left out take their defaults.
type Row struct {
	Table   string
	Columns []string
	Values  []any
}

// StreamAppend is one stream's part of an AppendMany.
type StreamAppend struct {
	Stream   string
	Expected ExpectedRevision
	Events   []EventData
}

// EventData is an event to append. ID makes appends idempotent: derive it
// from the command that caused it so a retry carries the same ids.
type EventData struct {
	ID       uuid.UUID
	Type     string
	Data     []byte // JSON
	Metadata []byte // JSON
}

// RecordedEvent is an event as stored.
type RecordedEvent struct {
	Stream     string
	Revision   uint64
	Position   Position
	ID         uuid.UUID
	Type       string
	Data       []byte
	Metadata   []byte
	RecordedAt time.Time
	// Hash chains the event to the one before it in its stream (see
	// eventstore/chain). Adapters set it on every event they append.
	Hash []byte
}

// AppendResult names the last event written (or found, on an idempotent retry).
type AppendResult struct {
	Revision uint64   // revision of the stream's last event after the append
	Position Position // global position of the last appended event
	// Retried: the events were already stored by an earlier identical
	// append (the idempotent retry); nothing was written. A writer that
	// decided on what it believed the stream to be learns that another
	// writer (another instance running the same command) got there first.
	// An adapter that cannot always tell says where with RetryReporter.
	Retried bool
}

// RetryReporter is implemented by adapters that cannot tell every
// idempotent retry apart from a fresh append. An adapter that does not
// implement it sets AppendResult.Retried on every retry it recognises.
type RetryReporter interface {
	// ReportsRetry reports whether a retry of an append at expected is
	// answered with Retried set; false: it may be answered as written.
	ReportsRetry(expected ExpectedRevision) bool
}

// ReportsRetry is s's RetryReporter answer, true for an adapter without
// one; wrappers forward it with this.
func ReportsRetry(s Store, expected ExpectedRevision) bool {
	r, ok := s.(RetryReporter)
	return !ok || r.ReportsRetry(expected)
}

// Head is the newest event of the global log.
type Head struct {
	Position   Position
	RecordedAt time.Time
}

// Position is a place in the global log. Adapters fill both parts; ordering
// is lexicographic on (Commit, Prepare). Treat it as opaque outside adapters:
// pass it around as String() and read it back with ParsePosition.
type Position struct {
	Commit  uint64
	Prepare uint64
}

// Start is the position before the first event.
var Start = Position{}

// Less reports whether p comes before q.
func (p Position) Less(q Position) bool {
	if p.Commit != q.Commit {
		return p.Commit < q.Commit
	}
	return p.Prepare < q.Prepare
}

// String is the opaque wire form, e.g. "1f3-1f3".
func (p Position) String() string {
	return strconv.FormatUint(p.Commit, 16) + "-" + strconv.FormatUint(p.Prepare, 16)
}

// ParsePosition reads a Position written by String. The empty string is Start.
func ParsePosition(s string) (Position, error) {
	if s == "" {
		return Start, nil
	}
	c, p, ok := strings.Cut(s, "-")
	if !ok {
		return Position{}, fmt.Errorf("%w: %q", ErrBadPosition, s)
	}
	commit, err1 := strconv.ParseUint(c, 16, 64)
	prepare, err2 := strconv.ParseUint(p, 16, 64)
	if err1 != nil || err2 != nil {
		return Position{}, fmt.Errorf("%w: %q", ErrBadPosition, s)
	}
	return Position{Commit: commit, Prepare: prepare}, nil
}

// ExpectedRevision is what an append requires of its stream: Any, NoStream,
// StreamExists or Exact(n).
type ExpectedRevision struct {
	kind     expectKind
	revision uint64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectExact
)

// Any accepts the stream in any state.
func Any() ExpectedRevision { return ExpectedRevision{kind: expectAny} }

// NoStream requires that the stream does not exist yet.
func NoStream() ExpectedRevision { return ExpectedRevision{kind: expectNoStream} }

// StreamExists requires that the stream has at least one event.
func StreamExists() ExpectedRevision { return ExpectedRevision{kind: expectStreamExists} }

// Exact requires that the stream's last event has revision rev.
func Exact(rev uint64) ExpectedRevision { return ExpectedRevision{kind: expectExact, revision: rev} }

// IsAny, IsNoStream, IsStreamExists and Revision let adapters map the value.
func (e ExpectedRevision) IsAny() bool          { return e.kind == expectAny }
func (e ExpectedRevision) IsNoStream() bool     { return e.kind == expectNoStream }
func (e ExpectedRevision) IsStreamExists() bool { return e.kind == expectStreamExists }

// Revision returns the exact revision and true, or 0 and false for the others.
func (e ExpectedRevision) Revision() (uint64, bool) { return e.revision, e.kind == expectExact }

// Accepts reports whether a stream whose last revision is current (exists
// false for a missing stream) satisfies e.
func (e ExpectedRevision) Accepts(current uint64, exists bool) bool {
	switch e.kind {
	case expectNoStream:
		return !exists
	case expectStreamExists:
		return exists
	case expectExact:
		return exists && current == e.revision
	default:
		return true
	}
}

func (e ExpectedRevision) String() string {
	switch e.kind {
	case expectNoStream:
		return "no_stream"
	case expectStreamExists:
		return "stream_exists"
	case expectExact:
		return strconv.FormatUint(e.revision, 10)
	default:
		return "any"
	}
}

var (
	// ErrWrongRevision: the stream is not at the expected revision.
	ErrWrongRevision = errors.New("wrong expected revision")
	// ErrStreamNotFound: the stream has no events (or was deleted).
	ErrStreamNotFound = errors.New("stream not found")
	// ErrBadPosition: a position string that no adapter wrote.
	ErrBadPosition = errors.New("bad position")
	// ErrAppendManyUnsupported: a wrapper's inner store cannot AppendMany;
	// nothing was written, use Append per stream.
	ErrAppendManyUnsupported = errors.New("multi-stream append not supported")
	// ErrRowAppendUnsupported: a wrapper's inner store cannot
	// AppendWithRow; nothing was written, use Append and write the row
	// apart.
	ErrRowAppendUnsupported = errors.New("append with a row not supported")
	// ErrRowConflict: the row of an AppendWithRow collides with a unique
	// key of its table; nothing was written, neither row nor events.
	ErrRowConflict = errors.New("row conflicts with a stored row")
	// ErrDuplicateEventID: an event id of the append is stored already and
	// the append is not a retry of the one that stored it; nothing was
	// written. Only adapters whose UniqueEventIDs reports true return it.
	ErrDuplicateEventID = errors.New("event id already stored")
	// ErrUnavailable: the store could not be reached or refused the work
	// for now (down, restarting, saturated). Nothing is known to be
	// decided; retry later. Adapters wrap their transport errors with it.
	ErrUnavailable = errors.New("event store unavailable")
)

// UniqueEventIDs is implemented by adapters that can say whether event ids
// are unique across the whole store. A store that does not implement it,
// or says false, keeps ids unique per stream only (EventStoreDB).
type UniqueEventIDs interface {
	// UniqueEventIDs reports whether an append carrying an id stored in
	// another stream fails with ErrDuplicateEventID.
	UniqueEventIDs() bool
}

// WrongRevisionError tells what the stream's revision actually is.
type WrongRevisionError struct {
	Stream       string
	Expected     ExpectedRevision
	Actual       uint64
	ActualExists bool
}

func (e *WrongRevisionError) Error() string {
	actual := "no stream"
	if e.ActualExists {
		actual = strconv.FormatUint(e.Actual, 10)
	}
	return fmt.Sprintf("append %s: expected revision %s, stream is at %s", e.Stream, e.Expected, actual)
}

func (e *WrongRevisionError) Is(target error) bool { return target == ErrWrongRevision }
