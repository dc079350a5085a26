package piistore_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// TestSealedAppendOverTheMaximumSizeIsRefusedTyped: sealing grows events,
// so an append that fits in clear can be too large sealed; the inner
// store's typed refusal must come back through the decorator.
func TestSealedAppendOverTheMaximumSizeIsRefusedTyped(t *testing.T) {
	f := newFixture(t)
	size := func(n int) (eventstore.EventData, int) {
		e := event(t, domain.BatchMembersAdded{Members: slices.Repeat([]domain.BatchMember{zhang.member()}, n)})
		return e, eventstore.AppendSize([]eventstore.EventData{e})
	}
	_, one := size(1)
	_, two := size(2)
	n := 1 + (eventstore.MaxAppendSize-one)/(two-one) // the most members that fit in clear
	clear, _ := size(n)
	t.Logf("%d members fit in clear: %d bytes", n, eventstore.AppendSize([]eventstore.EventData{clear}))
	_, err := f.store.Append(f.ctx, "batch-B1", eventstore.NoStream(), []eventstore.EventData{clear})
	require.ErrorIs(t, err, eventstore.ErrAppendTooLarge)
	var tl *eventstore.AppendTooLargeError
	require.True(t, errors.As(err, &tl), "err %v is no *AppendTooLargeError", err)
	require.Equal(t, "batch-B1", tl.Stream)
	require.Greater(t, tl.Size, eventstore.AppendSize([]eventstore.EventData{clear}), "the size refused is the sealed one")
	t.Logf("sealed: %d bytes", tl.Size)
	_, err = f.store.ReadStream(f.ctx, "batch-B1", 0, 0)
	require.ErrorIs(t, err, eventstore.ErrStreamNotFound)
}
