package piistore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/eventstore/storetest"
)

// The decorator is a Store like any other: events without personal data
// pass through byte for byte, chains and all.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) eventstore.Store {
		f := newFixture(t)
		_, err := f.pool.Exec(f.ctx, storetest.RowTableDDL)
		require.NoError(t, err)
		return f.store
	})
}

func TestEventsReadBackAsAppended(t *testing.T) {
	f := newFixture(t)
	reg, app := zhang.registered(t), zhang.applied(t)
	f.append(t, f.store, zhang.stream(), reg, app)
	members := event(t, domain.BatchMembersAdded{Members: []domain.BatchMember{zhang.member(), li.member()}})
	f.append(t, f.store, domain.BatchStreamFor("b1"), members)
	want := []eventstore.EventData{reg, app, members}

	stream, err := f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	require.Len(t, stream, 2)
	all, err := f.store.ReadAll(f.ctx, eventstore.Start, 0)
	require.NoError(t, err)
	require.Len(t, all, 3)
	var subscribed []eventstore.RecordedEvent
	stop := errors.New("enough")
	err = f.store.SubscribeAll(f.ctx, eventstore.Start, func(e eventstore.RecordedEvent) error {
		subscribed = append(subscribed, e)
		if len(subscribed) == 3 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)

	for i, w := range want {
		if i < 2 {
			assert.JSONEq(t, string(w.Data), string(stream[i].Data), "ReadStream %s", w.Type)
		}
		assert.JSONEq(t, string(w.Data), string(all[i].Data), "ReadAll %s", w.Type)
		assert.JSONEq(t, string(w.Data), string(subscribed[i].Data), "SubscribeAll %s", w.Type)
		assert.Equal(t, w.ID, all[i].ID)
	}
	e, err := domain.DecodeStoredEvent(all[0].Type, all[0].Data, all[0].Metadata)
	require.NoError(t, err)
	assert.Equal(t, zhang.name, e.(domain.CardholderRegistered).Name)
}

func TestStoredEventsHoldNoPersonalDataInClear(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	f.register(t, li)
	f.append(t, f.store, domain.BatchStreamFor("b1"),
		event(t, domain.BatchMembersAdded{Members: []domain.BatchMember{zhang.member(), li.member()}}))

	stored := f.storedData(t)
	require.Len(t, stored, 5)
	for _, data := range stored {
		for _, p := range []person{zhang, li} {
			for _, s := range p.secrets() {
				assert.NotContains(t, data, s)
			}
		}
	}
	reg := fields(t, []byte(stored[0]))
	assert.NotContains(t, reg, "name")
	assert.NotContains(t, reg, "id_number")
	assert.Equal(t, "320505", reg["region_code"], "fields that identify no one stay readable")
	env := reg["pii"].(map[string]any)
	assert.Equal(t, zhang.id, env["sub"])
	assert.Equal(t, []any{"id_number", "name", "birth_date", "phone"}, env["f"])
	assert.Equal(t, 2, strings.Count(stored[4], `"pii":`), "one envelope per batch member")
}

func TestEventsWithoutPersonalDataAreStoredAsGiven(t *testing.T) {
	f := newFixture(t)
	noPhoto := event(t, domain.CardApplied{ApplicationID: "a1", Source: domain.SourceBank, Kind: domain.FirstIssue, BankCode: "102"})
	issued := event(t, domain.CardIssued{CardNo: "A12345678", IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01"})
	f.append(t, f.store, zhang.stream(), noPhoto, issued)
	assert.Equal(t, []string{string(noPhoto.Data), string(issued.Data)}, f.storedData(t))
	n := 0
	require.NoError(t, f.pool.QueryRow(f.ctx, `SELECT count(*) FROM pii_data_keys`).Scan(&n))
	assert.Zero(t, n, "no key is made for a person without personal data")
}

func TestErasureLeavesHistoryIntactButUnreadable(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	f.register(t, li)
	f.append(t, f.store, domain.BatchStreamFor("b1"),
		event(t, domain.BatchMembersAdded{Members: []domain.BatchMember{zhang.member(), li.member()}}))
	before := f.storedData(t)

	f.append(t, f.store, zhang.stream(), event(t, domain.CardholderErased{CardholderID: zhang.id}))

	after := f.storedData(t)
	assert.Equal(t, before, after[:len(before)], "erasure changes no stored byte")
	events, err := f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	reg := fields(t, events[0].Data)
	for _, k := range []string{"id_number", "name", "birth_date", "phone"} {
		assert.Equal(t, domain.ErasedMarker, reg[k], k)
	}
	assert.Equal(t, "320505", reg["region_code"])
	assert.Equal(t, domain.ErasedMarker, fields(t, events[1].Data)["photo_ref"])

	batch, err := f.store.ReadStream(f.ctx, domain.BatchStreamFor("b1"), 0, 0)
	require.NoError(t, err)
	e, err := domain.DecodeStoredBatchEvent(batch[0].Type, batch[0].Data, batch[0].Metadata)
	require.NoError(t, err)
	m := e.(domain.BatchMembersAdded).Members
	assert.Equal(t, domain.ErasedMarker, m[0].Name)
	assert.Equal(t, domain.ErasedMarker, m[0].IDNumber)
	assert.Equal(t, zhang.id, m[0].CardholderID)
	assert.Equal(t, li.member(), m[1], "the other member is untouched")

	lis, err := f.store.ReadStream(f.ctx, li.stream(), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, li.name, fields(t, lis[0].Data)["name"])

	// The replayed state machine still works and the chain verifies.
	var history []domain.Event
	for _, r := range events {
		e, err := domain.DecodeStoredEvent(r.Type, r.Data, r.Metadata)
		require.NoError(t, err)
		history = append(history, e)
	}
	c := domain.Replay(zhang.id, history)
	assert.True(t, c.Erased)
	assert.Equal(t, domain.StatusApplied, c.Status())
	for _, stream := range []string{zhang.stream(), li.stream(), domain.BatchStreamFor("b1")} {
		stored, err := f.raw.ReadStream(f.ctx, stream, 0, 0)
		require.NoError(t, err)
		var w chain.Walker
		for _, r := range stored {
			require.NoError(t, w.Next(r), "chain of %s", stream)
		}
	}
}

func TestAnotherProcessSeesTheErasure(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	other := piistore.New(f.raw, f.keyring(t, f.master))
	events, err := other.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	require.Equal(t, zhang.name, fields(t, events[0].Data)["name"], "the other process has the key cached now")

	f.append(t, f.store, zhang.stream(), event(t, domain.CardholderErased{CardholderID: zhang.id}))

	events, err = other.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, domain.ErasedMarker, fields(t, events[0].Data)["name"], "reading the erasure drops the cached key")
}

// A process that has a person's key cached forgets it as soon as another
// process erases the person, also for streams that do not hold the
// erasure event (a batch's member list): it does not wait for the cache
// age. The keyring listens for erasures.
func TestAnotherProcessForgetsAnErasedKeyAtOnce(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	f.append(t, f.store, domain.BatchStreamFor("b1"), event(t, domain.BatchMembersAdded{Members: []domain.BatchMember{zhang.member()}}))
	otherKeys := f.keyring(t, f.master)
	var toldMu sync.Mutex
	var told []string // what OnErasure heard
	heard := func() []string { toldMu.Lock(); defer toldMu.Unlock(); return append([]string(nil), told...) }
	otherKeys.OnErasure(func(subject string) { toldMu.Lock(); told = append(told, subject); toldMu.Unlock() })
	listening, stop := context.WithCancel(f.ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		otherKeys.Listen(listening, logrus.New())
	}()
	t.Cleanup(func() { stop(); <-done })
	deadline := time.Now().Add(10 * time.Second)
	for len(heard()) == 0 { // Listen has connected (and told "")
		require.True(t, time.Now().Before(deadline), "the keyring does not listen")
		time.Sleep(10 * time.Millisecond)
	}
	other := piistore.New(f.raw, otherKeys)
	firstMember := func() domain.BatchMember {
		t.Helper()
		events, err := other.ReadStream(f.ctx, domain.BatchStreamFor("b1"), 0, 0)
		require.NoError(t, err)
		e, err := domain.DecodeStoredBatchEvent(events[0].Type, events[0].Data, events[0].Metadata)
		require.NoError(t, err)
		return e.(domain.BatchMembersAdded).Members[0]
	}
	require.Equal(t, zhang.name, firstMember().Name, "the other process has the key cached now")

	f.append(t, f.store, zhang.stream(), event(t, domain.CardholderErased{CardholderID: zhang.id}))

	for firstMember().Name != domain.ErasedMarker {
		require.True(t, time.Now().Before(deadline), "the other process still opens the erased member with its cached key")
		time.Sleep(10 * time.Millisecond) // polling for the notification
	}
	assert.Equal(t, domain.ErasedMarker, firstMember().IDNumber)
	for len(heard()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	assert.Equal(t, []string{"", zhang.id}, heard(), "OnErasure hears the connection (everything may be stale) and the erasure")
}

func TestDataGivenAfterErasureGetsANewKey(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	f.append(t, f.store, zhang.stream(), event(t, domain.CardholderErased{CardholderID: zhang.id}))
	newPhoto := event(t, domain.CardApplied{ApplicationID: "a2", Source: domain.SourceCounter, Kind: domain.Replacement,
		BankCode: "102", PhotoRef: "photos/after.jpg"})
	f.append(t, f.store, zhang.stream(), newPhoto)

	events, err := f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	require.Len(t, events, 4)
	assert.Equal(t, domain.ErasedMarker, fields(t, events[1].Data)["photo_ref"])
	assert.Equal(t, "photos/after.jpg", fields(t, events[3].Data)["photo_ref"])
	st, err := f.keys.Status(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, piistore.KeyStatus{LiveByMasterKey: map[string]int{f.master.ID(): 1}, ErasedSubjects: 1}, st)
}

func TestRotationRewrapsEveryKey(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	f.register(t, li)
	newKey := mustKey(t, "n")

	n, err := f.keys.Rotate(f.ctx, newKey, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	again, err := f.keys.Rotate(f.ctx, newKey, nil)
	require.NoError(t, err)
	assert.Zero(t, again, "a second run has nothing left to do")
	st, err := f.keys.Status(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{newKey.ID(): 2}, st.LiveByMasterKey)

	onlyNew := piistore.New(f.raw, f.keyring(t, newKey))
	events, err := onlyNew.ReadStream(f.ctx, li.stream(), 0, 0)
	require.NoError(t, err, "the old master key is no longer needed")
	assert.Equal(t, li.idNumber, fields(t, events[0].Data)["id_number"])

	onlyOld := piistore.New(f.raw, f.keyring(t, f.master))
	_, err = onlyOld.ReadStream(f.ctx, li.stream(), 0, 0)
	assert.ErrorIs(t, err, piistore.ErrUnknownMasterKey)
	assert.NotContains(t, err.Error(), li.idNumber)
}

// During a rotation instances run with the new key current and the old one
// still configured: they read keys under either and wrap new ones under the new.
func TestRotationInProgressReadsBothKeys(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	newKey := mustKey(t, "n")
	during := piistore.New(f.raw, f.keyring(t, newKey, f.master))
	f.append(t, during, li.stream(), li.registered(t))
	for _, p := range []person{zhang, li} {
		events, err := during.ReadStream(f.ctx, p.stream(), 0, 0)
		require.NoError(t, err)
		assert.Equal(t, p.name, fields(t, events[0].Data)["name"])
	}
	st, err := f.keys.Status(f.ctx)
	require.NoError(t, err)
	assert.Equal(t, map[string]int{f.master.ID(): 1, newKey.ID(): 1}, st.LiveByMasterKey)
}

func TestDamagedStoredDataIsAClearError(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		want      error
	}{
		{"ciphertext changed", `UPDATE eventstore_events SET data = convert_to(regexp_replace(convert_from(data, 'UTF8'), '"ct":"(.)', '"ct":"A\1'), 'UTF8') WHERE revision = 0`, piistore.ErrCorrupt},
		{"envelope not an object", `UPDATE eventstore_events SET data = convert_to(regexp_replace(convert_from(data, 'UTF8'), '"pii":\{[^}]*\}', '"pii":[1]'), 'UTF8') WHERE revision = 0`, piistore.ErrCorrupt},
		{"field list changed", `UPDATE eventstore_events SET data = convert_to(replace(convert_from(data, 'UTF8'), '"phone"', '"phone2"'), 'UTF8') WHERE revision = 0`, piistore.ErrCorrupt},
		{"envelope moved to another event", `UPDATE eventstore_events e SET data = o.data FROM eventstore_events o WHERE e.revision = 1 AND o.revision = 0`, piistore.ErrCorrupt},
		{"data key row deleted", `DELETE FROM pii_data_keys`, piistore.ErrNoDataKey},
		{"wrapped key changed", `UPDATE pii_data_keys SET wrapped = overlay(wrapped placing '\x00' from 20 for 1)`, piistore.ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(t, zhang)
			_, err := f.pool.Exec(f.ctx, `ALTER TABLE eventstore_events DISABLE TRIGGER ALL`)
			require.NoError(t, err)
			_, err = f.pool.Exec(f.ctx, tc.sql)
			require.NoError(t, err)
			fresh := piistore.New(f.raw, f.keyring(t, f.master))
			_, err = fresh.ReadStream(f.ctx, zhang.stream(), 0, 0)
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), zhang.stream())
		})
	}
}

func TestParseMasterKey(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	k, err := piistore.ParseMasterKey(hexKey + "\n")
	require.NoError(t, err)
	b64, err := piistore.ParseMasterKey("q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=")
	require.NoError(t, err)
	assert.Equal(t, k.ID(), b64.ID(), "hex and base64 of the same bytes are the same key")
	assert.Len(t, k.ID(), 16)
	for _, bad := range []string{"", "abcd", strings.Repeat("ab", 31), strings.Repeat("zz", 32)} {
		_, err := piistore.ParseMasterKey(bad)
		assert.ErrorIs(t, err, piistore.ErrBadMasterKey, bad)
	}
	_, err = piistore.ParseMasterKey(strings.Repeat("ab", 31) + "zz")
	assert.NotContains(t, err.Error(), "abab", "the message never repeats the key")
}
