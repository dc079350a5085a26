package piistore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
)

// A phone changed through an e-card channel is the person's data: sealed
// with their key, and unreadable once they are erased.
func TestChangedPhoneIsSealedAndErased(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	const newPhone = "13912345678"
	f.append(t, f.store, zhang.stream(), event(t, domain.PhoneChanged{Phone: newPhone, Channel: "rsapp"}))

	stored := f.storedData(t)
	last := stored[len(stored)-1] // register appends the registration and an application
	assert.NotContains(t, last, newPhone)
	assert.Equal(t, "rsapp", fields(t, []byte(last))["channel"], "the channel identifies no one")

	events, err := f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, newPhone, fields(t, events[len(events)-1].Data)["phone"])

	f.append(t, f.store, zhang.stream(), event(t, domain.CardholderErased{CardholderID: zhang.id}))
	events, err = f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, domain.ErasedMarker, fields(t, events[len(events)-2].Data)["phone"])
}
