package commands

import (
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
)

// Caching one command's event on a stream of 48 (a card in `bench http
// -n 6000` ends near 94): in place from the newest copy, against copying
// the stream as remember did before streamTail.
func BenchmarkCacheAnAppend(b *testing.B) {
	events, ids := cachedEvents(48)
	more, moreIDs := []domain.Event{domain.CardTemporarilyLost{CardNo: "A00000001"}}, []uuid.UUID{uuid.New()}
	b.Run("copy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = slices.Concat(events, more), slices.Concat(ids, moreIDs)
		}
	})
	b.Run("tail", func(b *testing.B) {
		b.ReportAllocs()
		e, i, t := (*streamTail)(nil).extend(events, nil, ids, nil)
		for b.Loop() {
			e, i, t = t.extend(e, more, i, moreIDs)
			if len(e) > 1000 { // a stream as long as the cache allows
				e, i, t = (*streamTail)(nil).extend(events, nil, ids, nil)
			}
		}
	})
}

// What a keyed command hashes before its append answers it.
func BenchmarkRequestHashes(b *testing.B) {
	a := &API{hashKeys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}}
	body := []byte(`{"reason":"left it on the bus"}`)
	b.Run("both", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = a.requestHash("POST", "/v1/cards/A00000001/temporary-loss", body), a.earlierHashes("POST", "/v1/cards/A00000001/temporary-loss", body)
		}
	})
	b.Run("current", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = a.requestHash("POST", "/v1/cards/A00000001/temporary-loss", body)
		}
	})
}
