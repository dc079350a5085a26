package readmodel

// docCacheSize bounds the holder documents a Model keeps between guarded
// batches: about 2 KB each, so a few MiB.
const docCacheSize = 4096

// docCache holds the holder documents as this Model's last guarded batch
// left them, so the next one reads and decodes only the holders it does
// not hold. It is valid exactly while the Model's guard is known: a
// guarded batch that succeeds proves (its guard) that no other writer
// stored anything since the position the documents are at, and every
// way the guard is forgotten (a failed or retried batch, whose fold may
// have changed cached documents in place; a moved checkpoint: another
// writer, a rebuild's swap; a locking-transaction batch; Recover when the
// runner takes the lock again) drops the documents too.
type docCache struct {
	docs map[string]*holderDoc // by stream
}

func (c *docCache) get(stream string) (*holderDoc, bool) {
	d, ok := c.docs[stream]
	return d, ok
}

// keep stores the documents of a batch that committed; when full, it
// drops arbitrary others (Go's map order), enough to stay within the bound.
func (c *docCache) keep(docs map[string]*holderDoc) {
	if c.docs == nil {
		c.docs = make(map[string]*holderDoc, len(docs))
	}
	for stream, d := range docs {
		if _, ok := c.docs[stream]; !ok && len(c.docs) >= docCacheSize {
			for s := range c.docs {
				delete(c.docs, s)
				break
			}
		}
		c.docs[stream] = d
	}
}

func (c *docCache) clear() { clear(c.docs) }

func (c *docCache) len() int { return len(c.docs) }
