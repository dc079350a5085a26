package commands

import (
	"container/list"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
)

// DefaultStreamCache is how many streams a Repository's pipeline keeps
// decoded (CARDLEDGER_STREAM_CACHE's default).
const DefaultStreamCache = 10000

// streamCacheTTL is how long an entry is believed after its events were
// read from the store (an entry extended by this process's appends keeps
// the age of the read it started from): the data-key cache's age
// (piistore.KeyringOptions), so that personal data opened here outlives an
// erasure by another instance no longer than the key that opened it would
// have, however often the holder is written meanwhile.
const streamCacheTTL = 5 * time.Minute

// cachedEventsPerStream bounds the events a stream cache holds, as an
// allowance per stream it may hold: long streams share it with short ones.
const cachedEventsPerStream = 32

// streamCache keeps, per stream, the decoded events and their ids as of a
// revision, so that Pipeline.Run decides without reading the stream: see
// Pipeline for when an entry is believed and how a stale one is found out.
// Entries never change once stored (put replaces them), so the events of
// an entry may be applied by many requests at once. A later entry of a
// stream may extend its predecessor's slices in place, past their length
// (streamTail), so that caching an append copies only its own events.
//
// It is bounded by streams and by events; the least recently used streams
// go first, and an entry is used for streamCacheTTL after it was stored. An erased stream leaves a tombstone at the erasure's revision:
// a put racing with the erasure (a command that loaded before it) cannot
// bring the person's data back.
type streamCache struct {
	mu         sync.Mutex
	maxStreams int
	maxEvents  int
	events     int
	lru        *list.List // of *cachedStream, most recently used first
	byID       map[string]*list.Element
	now        func() time.Time
}

type cachedStream struct {
	id       string
	revision uint64
	events   []domain.Event // nil for a tombstone
	ids      []uuid.UUID
	erased   bool        // a tombstone: only later revisions may be put
	read     time.Time   // when its events were read from the store
	expires  time.Time   // read + streamCacheTTL
	tail     *streamTail // of events and ids; nil: not extended in place yet
}

// streamTail guards the spare capacity past the events and ids of a
// stream's cache entries. n is the most events any slice over these
// arrays ever handed out holds: only a writer extending a copy of exactly
// n events may write past it (its append proves that copy was the stream,
// so it extends the newest entry); any other extends a copy of its own.
// Nothing is ever written below n, so readers of an entry need no lock.
type streamTail struct {
	mu sync.Mutex
	n  int
}

// extend returns events and ids with more and moreIDs after them, and the
// tail of the result: in place when events and ids are the whole of t,
// else in new arrays with room to grow. events and ids are not changed.
func (t *streamTail) extend(events, more []domain.Event, ids, moreIDs []uuid.UUID) ([]domain.Event, []uuid.UUID, *streamTail) {
	if t != nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.n == len(events) && t.n == len(ids) {
			events, ids = append(events, more...), append(ids, moreIDs...)
			t.n = len(events)
			return events, ids, t
		}
	}
	// Clipped, append allocates new arrays, with the room it grows by.
	events = append(events[:len(events):len(events)], more...)
	ids = append(ids[:len(ids):len(ids)], moreIDs...)
	return events, ids, &streamTail{n: len(events)}
}

// newStreamCache returns a cache of at most streams streams, or nil (no
// cache) for streams <= 0.
func newStreamCache(streams int) *streamCache {
	if streams <= 0 {
		return nil
	}
	return &streamCache{maxStreams: streams, maxEvents: streams * cachedEventsPerStream,
		lru: list.New(), byID: map[string]*list.Element{}, now: time.Now}
}

// get returns the cached events of stream id and their revision. The
// slices are the entry's: read them, never write.
func (c *streamCache) get(id string) (cachedStream, bool) {
	if c == nil {
		return cachedStream{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byID[id]
	if !ok || el.Value.(*cachedStream).erased {
		return cachedStream{}, false
	}
	if !c.now().Before(el.Value.(*cachedStream).expires) {
		c.remove(el)
		return cachedStream{}, false
	}
	c.lru.MoveToFront(el)
	return *el.Value.(*cachedStream), true
}

// put stores the events of stream id up to revision, unless the cache
// holds a later revision already (or a tombstone at or after it).
// Revisions of one stream name the same events, so the later one wins.
// read is when the oldest of them were read from the store (zero: now).
func (c *streamCache) put(id string, revision uint64, events []domain.Event, ids []uuid.UUID, tail *streamTail, read time.Time) {
	c.store(&cachedStream{id: id, revision: revision, events: events, ids: ids, tail: tail, read: read}, false)
}

// refresh is put for a stream the cache holds already: what a plain read
// (Pipeline.Load) found keeps a cached entry current without filling the
// cache with every stream that is only read.
func (c *streamCache) refresh(id string, revision uint64, events []domain.Event, ids []uuid.UUID) {
	c.store(&cachedStream{id: id, revision: revision, events: events, ids: ids}, true)
}

// erase drops the decoded events of stream id, erased at revision.
func (c *streamCache) erase(id string, revision uint64) {
	c.store(&cachedStream{id: id, revision: revision, erased: true}, false)
}

// dropAt drops the entry of stream id if it is still at revision: a
// command decided on it and the store refused the append there.
func (c *streamCache) dropAt(id string, revision uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		if e := el.Value.(*cachedStream); !e.erased && e.revision == revision {
			c.remove(el)
		}
	}
}

// forget drops the entry of stream id, whatever its revision: its
// personal data's keys were erased (by any instance).
func (c *streamCache) forget(id string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byID[id]; ok {
		c.remove(el)
	}
}

// clear drops every entry.
func (c *streamCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lru.Init()
	c.byID = map[string]*list.Element{}
	c.events = 0
}

func (c *streamCache) store(e *cachedStream, onlyExisting bool) {
	if c == nil || len(e.events) > c.maxEvents {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e.read.IsZero() {
		e.read = c.now()
	}
	e.expires = e.read.Add(streamCacheTTL)
	el, ok := c.byID[e.id]
	switch {
	case ok:
		old := el.Value.(*cachedStream)
		if old.revision > e.revision || old.revision == e.revision && (old.erased || !e.erased) {
			return
		}
		if onlyExisting && old.erased {
			return
		}
		c.events += len(e.events) - len(old.events)
		el.Value = e
		c.lru.MoveToFront(el)
	case onlyExisting:
		return
	default:
		c.byID[e.id] = c.lru.PushFront(e)
		c.events += len(e.events)
	}
	for c.lru.Len() > c.maxStreams || c.events > c.maxEvents {
		c.remove(c.lru.Back())
	}
}

func (c *streamCache) remove(el *list.Element) {
	e := el.Value.(*cachedStream)
	c.lru.Remove(el)
	delete(c.byID, e.id)
	c.events -= len(e.events)
}

// len returns how many streams and events the cache holds (tests).
func (c *streamCache) len() (streams, events int) {
	if c == nil {
		return 0, 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len(), c.events
}
