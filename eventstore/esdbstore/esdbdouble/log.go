package esdbdouble

import (
	"bytes"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// firstPosition is where the first record lands. A real node's log starts
// with its own system records, so user events never sit at position 0.
const firstPosition = 1024

// record is one event in the log. Records are immutable once appended, which
// lets readers use a snapshot of the log slice without holding the lock.
type record struct {
	stream      string
	revision    uint64
	position    uint64 // commit == prepare: the double has no explicit transactions
	id          uuid.UUID
	eventType   string
	contentType string
	data        []byte
	metadata    []byte
	created     time.Time
}

// streamState is what the log knows about one stream.
type streamState struct {
	records []*record
	// truncateBefore hides revisions below it from stream reads: a soft
	// delete sets it to last+1, so numbering continues after the delete.
	truncateBefore uint64
	tombstoned     bool
}

func (s *streamState) last() (uint64, bool) {
	if s == nil || len(s.records) == 0 {
		return 0, false
	}
	return s.records[len(s.records)-1].revision, true
}

// visible are the records a stream read may return.
func (s *streamState) visible() []*record {
	if s == nil {
		return nil
	}
	for i, r := range s.records {
		if r.revision >= s.truncateBefore {
			return s.records[i:]
		}
	}
	return nil
}

// expectation is an append's or delete's expected stream revision.
type expectation struct {
	kind     expectKind
	revision uint64
}

type expectKind uint8

const (
	expectAny expectKind = iota
	expectNoStream
	expectStreamExists
	expectRevision
)

func (e expectation) String() string {
	switch e.kind {
	case expectNoStream:
		return "no_stream"
	case expectStreamExists:
		return "stream_exists"
	case expectRevision:
		return strconv.FormatUint(e.revision, 10)
	default:
		return "any"
	}
}

func (e expectation) accepts(current uint64, exists bool) bool {
	switch e.kind {
	case expectNoStream:
		return !exists
	case expectStreamExists:
		return exists
	case expectRevision:
		return exists && current == e.revision
	default:
		return true
	}
}

// proposed is an event an append wants to write.
type proposed struct {
	id          uuid.UUID
	eventType   string
	contentType string
	data        []byte
	metadata    []byte
}

// appendOutcome is the result of an append or a delete. When wrong is set the
// write did not happen and current/exists describe the stream as it is.
type appendOutcome struct {
	wrong    bool
	deleted  bool // the stream is tombstoned
	current  uint64
	exists   bool
	position uint64 // of the last event written (or found, when idempotent)
	hasPos   bool
	wrote    bool // events were written (not a retry recognised as such)
}

// eventLog is the whole store: the global log and a per-stream index. One
// mutex makes every append atomic for all readers.
type eventLog struct {
	mu      sync.Mutex
	all     []*record
	streams map[string]*streamState
	next    uint64
	// changed is closed (and replaced) after every write, waking live
	// subscriptions without a busy loop.
	changed chan struct{}
	now     func() time.Time
	// noIdempotence: see Options.NoIdempotence.
	noIdempotence bool
}

func newEventLog() *eventLog {
	return &eventLog{
		streams: map[string]*streamState{},
		next:    firstPosition,
		changed: make(chan struct{}),
		now:     time.Now,
	}
}

// append writes events to stream if expected holds, or recognises a retry of
// an append that already happened (same ids right after the expected
// revision) and reports it as a success without writing again.
func (l *eventLog) append(stream string, expected expectation, events []proposed) appendOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.streams[stream]
	if st != nil && st.tombstoned {
		return appendOutcome{deleted: true}
	}
	current, exists := st.last()
	if out, ok := l.idempotent(st, expected, events); ok && !l.noIdempotence {
		return out
	}
	if !expected.accepts(current, exists) {
		return appendOutcome{wrong: true, current: current, exists: exists}
	}
	if len(events) == 0 {
		return appendOutcome{current: current, exists: exists}
	}
	l.write(stream, events)
	st = l.streams[stream]
	last := st.records[len(st.records)-1]
	return appendOutcome{current: last.revision, exists: true, position: last.position, hasPos: true, wrote: true}
}

// idempotent finds events that were already written by an earlier append
// with the same ids, as EventStoreDB does for retried writes.
func (l *eventLog) idempotent(st *streamState, expected expectation, events []proposed) (appendOutcome, bool) {
	if st == nil || len(events) == 0 {
		return appendOutcome{}, false
	}
	start := -1
	switch expected.kind {
	case expectNoStream:
		start = 0
	case expectRevision:
		start = int(expected.revision) + 1
	default:
		for _, r := range st.records {
			if r.id == events[0].id {
				start = int(r.revision)
				break
			}
		}
	}
	// Revisions are contiguous from the stream's first record.
	first := int(st.records[0].revision)
	from := start - first
	if start < 0 || from < 0 || from+len(events) > len(st.records) {
		return appendOutcome{}, false
	}
	for i, e := range events {
		if st.records[from+i].id != e.id {
			return appendOutcome{}, false
		}
	}
	last := st.records[from+len(events)-1]
	return appendOutcome{current: last.revision, exists: true, position: last.position, hasPos: true}, true
}

// write appends events without checks; callers hold l.mu.
func (l *eventLog) write(stream string, events []proposed) {
	st := l.streams[stream]
	if st == nil {
		st = &streamState{}
		l.streams[stream] = st
	}
	rev := uint64(0)
	if last, ok := st.last(); ok {
		rev = last + 1
	}
	created := l.now()
	for _, e := range events {
		r := &record{
			stream:      stream,
			revision:    rev,
			position:    l.next,
			id:          e.id,
			eventType:   e.eventType,
			contentType: e.contentType,
			data:        bytes.Clone(e.data),
			metadata:    bytes.Clone(e.metadata),
			created:     created,
		}
		// Positions are byte offsets in a real log: increasing, not contiguous.
		l.next += uint64(128 + len(stream) + len(e.eventType) + len(e.data) + len(e.metadata))
		st.records = append(st.records, r)
		l.all = append(l.all, r)
		rev++
	}
	close(l.changed)
	l.changed = make(chan struct{})
}

// softDelete hides the stream's events from stream reads and records the
// truncation in the stream's metadata stream, as EventStoreDB's "$tb" does.
func (l *eventLog) softDelete(stream string, expected expectation) appendOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.streams[stream]
	if st != nil && st.tombstoned {
		return appendOutcome{deleted: true}
	}
	current, exists := st.last()
	if !expected.accepts(current, exists) || !exists {
		return appendOutcome{wrong: true, current: current, exists: exists}
	}
	st.truncateBefore = current + 1
	meta := []byte(`{"$tb":` + strconv.FormatUint(current+1, 10) + `}`)
	l.write("$$"+stream, []proposed{{id: uuid.New(), eventType: "$metadata", contentType: "application/json", data: meta}})
	return appendOutcome{current: current, exists: true, position: l.all[len(l.all)-1].position, hasPos: true}
}

// tombstone deletes the stream for good with a "$streamDeleted" event.
func (l *eventLog) tombstone(stream string, expected expectation) appendOutcome {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.streams[stream]
	if st != nil && st.tombstoned {
		return appendOutcome{deleted: true}
	}
	current, exists := st.last()
	if !expected.accepts(current, exists) {
		return appendOutcome{wrong: true, current: current, exists: exists}
	}
	l.write(stream, []proposed{{id: uuid.New(), eventType: "$streamDeleted", contentType: "application/octet-stream"}})
	st = l.streams[stream]
	st.tombstoned = true
	return appendOutcome{current: current, exists: exists, position: l.all[len(l.all)-1].position, hasPos: true}
}

// snapshot returns the global log as it is now and a channel closed by the
// next write. The slice is safe to read without the lock: records never
// change and later appends do not touch the returned prefix.
func (l *eventLog) snapshot() ([]*record, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.all[:len(l.all):len(l.all)], l.changed
}

// streamView is a stream read's view of one stream.
type streamView struct {
	records    []*record
	found      bool
	tombstoned bool
}

func (l *eventLog) stream(name string) streamView {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.streams[name]
	if st == nil {
		return streamView{}
	}
	if st.tombstoned {
		return streamView{tombstoned: true}
	}
	v := st.visible()
	return streamView{records: v[:len(v):len(v)], found: len(v) > 0}
}
