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
