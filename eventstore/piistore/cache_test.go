package piistore

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestKeyCacheKeepsTheMostRecentlyUsedWithinItsBound(t *testing.T) {
	now := time.Unix(0, 0)
	c := newKeyCache(2, time.Minute, func() time.Time { return now })
	c.put(&subjectKeys{subject: "a"})
	c.put(&subjectKeys{subject: "b"})
	_, ok := c.get("a")
	assert.True(t, ok)
	c.put(&subjectKeys{subject: "c"})
	_, ok = c.get("b")
	assert.False(t, ok, "b was least recently used")
	_, ok = c.get("a")
	assert.True(t, ok)
	assert.Equal(t, 2, c.len())
}

func TestKeyCacheForgetsAfterItsAgeAndOnEviction(t *testing.T) {
	now := time.Unix(0, 0)
	c := newKeyCache(10, time.Minute, func() time.Time { return now })
	c.put(&subjectKeys{subject: "a"})
	c.put(&subjectKeys{subject: "b"})
	c.evict("b")
	_, ok := c.get("b")
	assert.False(t, ok)
	now = now.Add(time.Minute)
	_, ok = c.get("a")
	assert.False(t, ok, "expired")
	assert.Equal(t, 0, c.len())
}

// Keys loaded before an erasure was announced are not cached: the load may
// have read a key the erasure deleted right after. Clearing counts as an
// erasure (erasures may have been missed).
func TestKeyCacheDoesNotKeepKeysLoadedBeforeAnErasure(t *testing.T) {
	c := newKeyCache(10, time.Minute, time.Now)
	seen := c.erasureCount()
	c.forget("a")
	c.putLoaded(&subjectKeys{subject: "a"}, seen)
	_, ok := c.get("a")
	assert.False(t, ok, "loaded before the erasure")

	seen = c.erasureCount()
	c.putLoaded(&subjectKeys{subject: "a"}, seen)
	c.putLoaded(&subjectKeys{subject: "b"}, seen)
	assert.Equal(t, 2, c.len())
	c.clear()
	assert.Equal(t, 0, c.len())
	c.putLoaded(&subjectKeys{subject: "c"}, seen)
	assert.Equal(t, 0, c.len(), "loaded before the clear")
}
