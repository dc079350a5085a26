package piistore

import (
	"container/list"
	"sync"
	"time"
)

// keyCache holds unwrapped data keys by subject, least recently used out
// first once it holds max subjects, and each entry for at most ttl. The TTL
// bounds how long a process that missed an erasure (another instance erased
// the key) can still decrypt with a key it had cached; a process that reads
// the CardholderErased event evicts at once.
type keyCache struct {
	mu    sync.Mutex
	max   int
	ttl   time.Duration
	now   func() time.Time
	items map[string]*list.Element
	order *list.List // front: most recently used
	// erasures counts forget and clear calls: keys loaded before one of
	// them may be erased since, so putLoaded does not cache them.
	erasures uint64
}

// subjectKeys is what the database said about one subject's data keys.
type subjectKeys struct {
	subject string
	current int            // generation new data is sealed under; 0: none live
	keys    map[int][]byte // unwrapped live keys by generation
	erased  map[int]bool   // erased generations
	expires time.Time
}

func newKeyCache(max int, ttl time.Duration, now func() time.Time) *keyCache {
	return &keyCache{max: max, ttl: ttl, now: now, items: map[string]*list.Element{}, order: list.New()}
}

// get returns the subject's entry if cached and fresh. The entry is never
// changed after put, so callers may read it without the lock.
func (c *keyCache) get(subject string) (*subjectKeys, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[subject]
	if !ok {
		return nil, false
	}
	sk := el.Value.(*subjectKeys)
	if !c.now().Before(sk.expires) {
		c.order.Remove(el)
		delete(c.items, subject)
		return nil, false
	}
	c.order.MoveToFront(el)
	return sk, true
}

func (c *keyCache) put(sk *subjectKeys) {
	if c.max <= 0 {
		return
	}
	sk.expires = c.now().Add(c.ttl)
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[sk.subject]; ok {
		el.Value = sk
		c.order.MoveToFront(el)
		return
	}
	c.items[sk.subject] = c.order.PushFront(sk)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*subjectKeys).subject)
	}
}

// putLoaded caches keys loaded from the database unless an erasure was
// announced since seen (erasureCount before the load): the load may have
// read a key the erasure deleted just after, and caching it would keep it
// usable until the entry ages out.
func (c *keyCache) putLoaded(sk *subjectKeys, seen uint64) {
	c.mu.Lock()
	stale := c.erasures != seen
	c.mu.Unlock()
	if !stale {
		c.put(sk)
	}
}

// erasureCount is the count putLoaded compares with.
func (c *keyCache) erasureCount() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.erasures
}

// forget drops the subject's keys because they were erased.
func (c *keyCache) forget(subject string) {
	c.mu.Lock()
	c.erasures++
	c.mu.Unlock()
	c.evict(subject)
}

// clear drops every key: erasures may have been missed.
func (c *keyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.erasures++
	c.items = map[string]*list.Element{}
	c.order.Init()
}

func (c *keyCache) evict(subject string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[subject]; ok {
		c.order.Remove(el)
		delete(c.items, subject)
	}
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
