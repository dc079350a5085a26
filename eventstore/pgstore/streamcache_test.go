package pgstore

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
)

// fakeStream is a stream as the table holds it, counting what is read.
type fakeStream struct {
	events []eventstore.RecordedEvent
	froms  []uint64 // revision each read started at
	rows   int      // rows returned in all
}

func (f *fakeStream) append(n int, data string) {
	for range n {
		f.events = append(f.events, eventstore.RecordedEvent{Stream: "s", Revision: uint64(len(f.events)), ID: uuid.New(),
			Data: []byte(data)})
	}
}

func (f *fakeStream) read(_ context.Context, from uint64) ([]eventstore.RecordedEvent, error) {
	f.froms = append(f.froms, from)
	if from >= uint64(len(f.events)) {
		return nil, nil
	}
	out := append([]eventstore.RecordedEvent(nil), f.events[from:]...)
	f.rows += len(out)
	return out, nil
}

func TestStreamCacheReadsOnlyWhatWasAppendedSince(t *testing.T) {
	ctx := context.Background()
	c := newStreamCache(1 << 20)
	f := &fakeStream{}
	f.append(5, "x")

	got, err := c.readAll(ctx, "s", f.read)
	require.NoError(t, err)
	assert.Equal(t, f.events, got)
	f.append(2, "y") // another writer, or another instance
	got, err = c.readAll(ctx, "s", f.read)
	require.NoError(t, err)
	assert.Equal(t, f.events, got)
	assert.Equal(t, []uint64{0, 4}, f.froms, "the second read starts at the last cached event")
	assert.Equal(t, 5+3, f.rows)

	// Callers get their own slice: changing it changes nothing cached.
	got[0].Data = []byte("changed")
	got, err = c.readAll(ctx, "s", f.read)
	require.NoError(t, err)
	assert.Equal(t, f.events, got)
}

func TestStreamCacheDropsAStreamThatIsNotTheOneCached(t *testing.T) {
	ctx := context.Background()
	c := newStreamCache(1 << 20)
	f := &fakeStream{}
	f.append(4, "old")
	_, err := c.readAll(ctx, "s", f.read)
	require.NoError(t, err)

	// The database recreated under the process: other events at the same
	// revisions.
	f.events = nil
	f.append(6, "new")
	f.froms = nil
	got, err := c.readAll(ctx, "s", f.read)
	require.NoError(t, err)
	assert.Equal(t, f.events, got)
	assert.Equal(t, []uint64{3, 0}, f.froms, "a mismatch at the cached revision reads the whole stream")

	// Shorter than what was cached: the cached revision is gone.
	f.events = nil
	f.append(2, "newer")
	f.froms = nil
	got, err = c.readAll(ctx, "s", f.read)
	require.NoError(t, err)
	assert.Equal(t, f.events, got)
	assert.Equal(t, []uint64{5, 0}, f.froms)

	// Gone altogether: an empty read, which ReadStream answers as no stream.
	f.events = nil
	got, err = c.readAll(ctx, "s", f.read)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func TestStreamCacheStaysWithinItsBudget(t *testing.T) {
	ctx := context.Background()
	perStream := 4 * (100 + eventOverhead)
	c := newStreamCache(24 * perStream)
	var streams []*fakeStream
	for i := range 26 {
		f := &fakeStream{}
		f.append(4, string(make([]byte, 100)))
		streams = append(streams, f)
		_, err := c.readAll(ctx, fmt.Sprint(i), f.read)
		require.NoError(t, err)
	}
	assert.Equal(t, 24*perStream, c.size)
	assert.Len(t, c.byKey, 24, "the two least recently read streams went")
	for i := 25; i >= 0; i-- { // the cached ones first: reading the others evicts
		f := streams[i]
		f.froms = nil
		_, err := c.readAll(ctx, fmt.Sprint(i), f.read)
		require.NoError(t, err)
		if i >= 2 {
			assert.Equal(t, []uint64{3}, f.froms, i)
		} else {
			assert.Equal(t, []uint64{0}, f.froms, i)
		}
	}

	// One stream larger than an eighth of the budget is not kept at all.
	big := &fakeStream{}
	big.append(2, string(make([]byte, c.max/16)))
	_, err := c.readAll(ctx, "big", big.read)
	require.NoError(t, err)
	assert.NotContains(t, c.byKey, "big")
	assert.LessOrEqual(t, c.size, c.max)
}
