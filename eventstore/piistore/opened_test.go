package piistore

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
)

func TestOpenedEventsLastOnlyAsLongAsTheKeysTheyWereOpenedWith(t *testing.T) {
	now := time.Unix(0, 0)
	keys := newKeyCache(10, time.Minute, func() time.Time { return now })
	c := newOpenedCache(10)
	zhang := &subjectKeys{subject: "zhang", keys: map[int][]byte{1: make([]byte, 32)}}
	li := &subjectKeys{subject: "li", keys: map[int][]byte{1: make([]byte, 32)}}
	keys.put(zhang)
	keys.put(li)
	reg := openedKey{id: uuid.New(), typ: "CardholderRegistered", data: `{"sealed":1}`}
	batch := openedKey{id: uuid.New(), typ: "BatchMembersAdded", data: `{"sealed":2}`}
	c.put(reg, []byte(`{"name":"Zhang"}`), []*subjectKeys{zhang})
	c.put(batch, []byte(`{"members":[]}`), []*subjectKeys{zhang, li})

	got, ok := c.get(reg, keys)
	assert.True(t, ok)
	assert.Equal(t, `{"name":"Zhang"}`, string(got))
	_, ok = c.get(openedKey{id: reg.id, typ: reg.typ, data: `{"sealed":3}`}, keys)
	assert.False(t, ok, "other stored bytes are another event")

	keys.forget("li") // li erased
	_, ok = c.get(batch, keys)
	assert.False(t, ok, "an event with any erased subject's data is opened again")
	_, ok = c.get(reg, keys)
	assert.True(t, ok, "the others stay")

	keys.put(&subjectKeys{subject: "zhang", keys: zhang.keys}) // reloaded: another entry
	_, ok = c.get(reg, keys)
	assert.False(t, ok, "opened with keys the cache no longer holds")

	c.put(reg, []byte(`{"name":"Zhang"}`), []*subjectKeys{zhang})
	now = now.Add(2 * time.Minute) // the keys aged out
	_, ok = c.get(reg, keys)
	assert.False(t, ok)
	assert.Empty(t, c.items, "entries found stale are dropped")
}

func TestOpenedCacheKeepsTheMostRecentlyUsedWithinItsBound(t *testing.T) {
	keys := newKeyCache(10, time.Minute, time.Now)
	sk := &subjectKeys{subject: "s"}
	keys.put(sk)
	c := newOpenedCache(2)
	a, b, d := openedKey{id: uuid.New()}, openedKey{id: uuid.New()}, openedKey{id: uuid.New()}
	c.put(a, []byte("a"), []*subjectKeys{sk})
	c.put(b, []byte("b"), []*subjectKeys{sk})
	_, ok := c.get(a, keys)
	assert.True(t, ok)
	c.put(d, []byte("d"), []*subjectKeys{sk})
	_, ok = c.get(b, keys)
	assert.False(t, ok, "the least recently used went")
	_, ok = c.get(a, keys)
	assert.True(t, ok)
	assert.Len(t, c.items, 2)
}
