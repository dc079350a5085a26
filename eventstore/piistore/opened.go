package piistore

import (
	"container/list"
	"sync"

	"github.com/google/uuid"
)

// openedCacheSize bounds how many opened events the keyring keeps.
const openedCacheSize = 20_000

// openedCache keeps the opened data of recently read sealed events. A
// command loads its holder's whole stream each time, and opening the same
// registration again (JSON parse, decrypt, JSON encode) was about a third
// of what loading the stream cost in the `bench http` profile.
//
// What an event opens to depends only on its stored bytes and on the data
// keys of its subjects. Each entry therefore records the key-cache entries
// (subjectKeys) it was opened with, and is used only while every one of
// them is still the one the key cache holds: an erasure (forget, clear), a
// key that aged out or was reloaded ends the entry with it, without a
// hook of its own. The plaintext lives no longer than the keys that
// decrypt it already do.
type openedCache struct {
	mu    sync.Mutex
	max   int
	items map[openedKey]*list.Element
	order *list.List // of *openedEntry; front: most recently used
}

// openedKey names a stored event exactly: its id and type (bound into the
// ciphertext's AAD) and its stored data.
type openedKey struct {
	id   uuid.UUID
	typ  string
	data string
}

type openedEntry struct {
	key  openedKey
	data []byte         // the opened data; never modified
	with []*subjectKeys // the key-cache entries it was opened with
}

func newOpenedCache(max int) *openedCache {
	return &openedCache{max: max, items: map[openedKey]*list.Element{}, order: list.New()}
}

// get returns the opened data of key if it was opened with keys the key
// cache still holds.
func (c *openedCache) get(key openedKey, keys *keyCache) ([]byte, bool) {
	c.mu.Lock()
	el, ok := c.items[key]
	var e *openedEntry
	if ok {
		c.order.MoveToFront(el)
		e = el.Value.(*openedEntry)
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	for _, sk := range e.with {
		if cur, ok := keys.get(sk.subject); !ok || cur != sk {
			c.remove(key, e)
			return nil, false
		}
	}
	return e.data, true
}

func (c *openedCache) put(key openedKey, data []byte, with []*subjectKeys) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok {
		el.Value = &openedEntry{key: key, data: data, with: with}
		c.order.MoveToFront(el)
		return
	}
	c.items[key] = c.order.PushFront(&openedEntry{key: key, data: data, with: with})
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*openedEntry).key)
	}
}

// remove drops key if it still holds e.
func (c *openedCache) remove(key openedKey, e *openedEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[key]; ok && el.Value == e {
		c.order.Remove(el)
		delete(c.items, key)
	}
}
