package piistore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/piistore"
)

func TestAppendManySealsEveryPersonAndReadsBack(t *testing.T) {
	f := newFixture(t)
	appends := []eventstore.StreamAppend{
		{Stream: zhang.stream(), Expected: eventstore.NoStream(), Events: []eventstore.EventData{zhang.registered(t), zhang.applied(t)}},
		{Stream: li.stream(), Expected: eventstore.NoStream(), Events: []eventstore.EventData{li.registered(t), li.applied(t)}},
	}
	results, err := f.store.AppendMany(f.ctx, appends)
	require.NoError(t, err)
	require.Len(t, results, 2)

	for _, data := range f.storedData(t) {
		for _, p := range []person{zhang, li} {
			for _, s := range p.secrets() {
				assert.NotContains(t, data, s)
			}
		}
	}
	var keys int
	require.NoError(t, f.pool.QueryRow(f.ctx, `SELECT count(*) FROM pii_data_keys`).Scan(&keys))
	assert.Equal(t, 2, keys, "one data key per person")
	for i, a := range appends {
		got, err := f.store.ReadStream(f.ctx, a.Stream, 0, 0)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, eventstore.AppendResult{Revision: 1, Position: got[1].Position}, results[i])
		for j, e := range got {
			assert.Equal(t, a.Events[j].ID, e.ID)
			assert.JSONEq(t, string(a.Events[j].Data), string(e.Data), "%s %s", a.Stream, e.Type)
		}
	}
}

func TestAppendManyWritesNothingWhenOneStreamIsTaken(t *testing.T) {
	f := newFixture(t)
	f.register(t, li)
	_, err := f.store.AppendMany(f.ctx, []eventstore.StreamAppend{
		{Stream: zhang.stream(), Expected: eventstore.NoStream(), Events: []eventstore.EventData{zhang.registered(t)}},
		{Stream: li.stream(), Expected: eventstore.NoStream(), Events: []eventstore.EventData{li.registered(t)}},
	})
	var wrong *eventstore.WrongRevisionError
	require.ErrorAs(t, err, &wrong)
	assert.Equal(t, li.stream(), wrong.Stream)
	_, err = f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	assert.ErrorIs(t, err, eventstore.ErrStreamNotFound)
}

// onlyAppend hides the inner store's AppendMany.
type onlyAppend struct{ eventstore.Store }

func TestAppendManyOverAStoreWithoutItIsUnsupported(t *testing.T) {
	f := newFixture(t)
	s := piistore.New(onlyAppend{f.raw}, f.keys)
	_, err := s.AppendMany(f.ctx, []eventstore.StreamAppend{
		{Stream: zhang.stream(), Expected: eventstore.NoStream(), Events: []eventstore.EventData{zhang.registered(t)}},
	})
	assert.ErrorIs(t, err, eventstore.ErrAppendManyUnsupported)
	var keys int
	require.NoError(t, f.pool.QueryRow(f.ctx, `SELECT count(*) FROM pii_data_keys`).Scan(&keys))
	assert.Zero(t, keys, "nothing is done before the check")
}
