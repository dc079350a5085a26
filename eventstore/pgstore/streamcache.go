package pgstore

import (
	"container/list"
	"context"
	"sync"

	"github.com/cardledger/cardledger/eventstore"
)

// streamCacheBytes bounds what the stream cache holds (events' data,
// metadata and a fixed overhead each); least recently read streams go
// first.
const streamCacheBytes = 32 << 20

// eventOverhead approximates an event's size besides its data and metadata
// (the struct, stream and type names, hash).
const eventOverhead = 256

// streamCache keeps the events of recently read streams, so that reading a
// whole stream again (a command loads its aggregate this way every time)
// fetches only the events appended since: the rows PostgreSQL reads and
// sends, and this process scans, no longer grow with the stream.
//
// Stored events never change (the table's trigger refuses updates and
// deletes), so a cached prefix stays true as long as the stream is the one
// that was cached. Each read checks that: it asks from the cached last
// revision on, and takes the cache only when the first row returned is that
// very event (same id). Anything else (a database restored or recreated
// under a running process) drops the entry and reads the whole stream.
// Events appended by other writers or instances are simply the rows after
// it. The cache holds what the table holds (personal data sealed, see
// eventstore/piistore), and callers get their own copy of the slice.
//
// An append at Exact(rev) chains to the cached event at rev when there is
// one (append_hashed.go); its statement checks that event's revision and
// hash against the table, and a mismatch drops the entry here too.
type streamCache struct {
	mu    sync.Mutex
	max   int // bytes
	size  int
	lru   *list.List // of *cachedStream, most recently read first
	byKey map[string]*list.Element
}

type cachedStream struct {
	stream string
	events []eventstore.RecordedEvent // never modified once stored
	size   int
	// head is the last event this process appended after events, when it
	// appended one: all an append needs of it (appendHashedSQL checks it
	// against the stored row), kept without the rest of the row, which the
	// next read brings.
	head *chainHead
}

// chainHead is a stream's event an append chains to.
type chainHead struct {
	rev  uint64
	hash []byte
}

func newStreamCache(maxBytes int) *streamCache {
	return &streamCache{max: maxBytes, lru: list.New(), byKey: map[string]*list.Element{}}
}

// readFunc reads stream from revision from to its end.
type readFunc func(ctx context.Context, from uint64) ([]eventstore.RecordedEvent, error)

// readAll returns the whole of stream: the cached events plus the rows
// read from the last cached revision on, or every row when nothing usable
// is cached.
func (c *streamCache) readAll(ctx context.Context, stream string, read readFunc) ([]eventstore.RecordedEvent, error) {
	cached := c.get(stream)
	if len(cached) > 0 {
		last := cached[len(cached)-1]
		tail, err := read(ctx, last.Revision)
		if err != nil {
			return nil, err
		}
		if len(tail) > 0 && tail[0].ID == last.ID && tail[0].Revision == last.Revision {
			events := make([]eventstore.RecordedEvent, 0, len(cached)+len(tail)-1)
			events = append(append(events, cached...), tail[1:]...)
			c.put(stream, events)
			return copyEvents(events), nil
		}
		c.drop(stream) // not the stream that was cached
	}
	events, err := read(ctx, 0)
	if err != nil {
		return nil, err
	}
	c.put(stream, events)
	return copyEvents(events), nil
}

func copyEvents(events []eventstore.RecordedEvent) []eventstore.RecordedEvent {
	return append([]eventstore.RecordedEvent(nil), events...)
}

func (c *streamCache) get(stream string) []eventstore.RecordedEvent {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[stream]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cachedStream).events
}

func (c *streamCache) put(stream string, events []eventstore.RecordedEvent) {
	size := 0
	for _, e := range events {
		size += len(e.Data) + len(e.Metadata) + eventOverhead
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[stream]; ok {
		old := el.Value.(*cachedStream)
		if len(old.events) > len(events) {
			return // a concurrent read stored a longer prefix of the same stream
		}
		c.removeLocked(el)
	}
	if len(events) == 0 || size > c.max/8 {
		return // one stream may not take the cache over
	}
	c.byKey[stream] = c.lru.PushFront(&cachedStream{stream: stream, events: events, size: size})
	c.size += size
	for c.size > c.max {
		c.removeLocked(c.lru.Back())
	}
}

func (c *streamCache) drop(stream string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[stream]; ok {
		c.removeLocked(el)
	}
}

func (c *streamCache) removeLocked(el *list.Element) {
	cs := c.lru.Remove(el).(*cachedStream)
	delete(c.byKey, cs.stream)
	c.size -= cs.size
}

// prevHash returns the hash of stream's event at revision rev, if it is
// cached or is the head this process appended last.
func (c *streamCache) prevHash(stream string, rev uint64) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[stream]
	if !ok {
		return nil, false
	}
	cs := el.Value.(*cachedStream)
	if h := cs.head; h != nil && h.rev == rev {
		return h.hash, true
	}
	if rev >= uint64(len(cs.events)) || cs.events[rev].Revision != rev {
		return nil, false
	}
	return cs.events[rev].Hash, true
}

// appended notes that this process appended stream up to revision rev,
// whose hash is hash, so that a writer deciding on what it wrote (without
// reading the stream again) chains its next append in Go too. Only a
// cached stream keeps it.
func (c *streamCache) appended(stream string, rev uint64, hash []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[stream]
	if !ok {
		return
	}
	cs := el.Value.(*cachedStream)
	if n := len(cs.events); n > 0 && cs.events[n-1].Revision >= rev || cs.head != nil && cs.head.rev >= rev {
		return
	}
	cs.head = &chainHead{rev: rev, hash: hash}
	c.lru.MoveToFront(el)
}

// event returns the cached event of stream at revision rev.
func (c *streamCache) event(stream string, rev uint64) (eventstore.RecordedEvent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[stream]
	if !ok {
		return eventstore.RecordedEvent{}, false
	}
	events := el.Value.(*cachedStream).events
	if rev >= uint64(len(events)) || events[rev].Revision != rev {
		return eventstore.RecordedEvent{}, false
	}
	return events[rev], true
}
