package piistore_test

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// The checked-in log of version 1 events (domain/testdata) sealed through
// this store reads back as appended, and today's codec reads it: personal
// fields work whatever the version of the other events around them.
func TestV1LogSealsAndReadsUnderTodaysCodec(t *testing.T) {
	f := newFixture(t)
	file, err := os.Open("../../domain/testdata/v1_lifecycle.jsonl")
	require.NoError(t, err)
	defer file.Close()
	type line struct {
		Stream   string          `json:"stream"`
		ID       uuid.UUID       `json:"id"`
		Type     string          `json:"type"`
		Data     json.RawMessage `json:"data"`
		Metadata json.RawMessage `json:"metadata"`
	}
	var log []line
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var l line
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l))
		log = append(log, l)
		_, err := f.store.Append(f.ctx, l.Stream, eventstore.Any(),
			[]eventstore.EventData{{ID: l.ID, Type: l.Type, Data: l.Data, Metadata: l.Metadata}})
		require.NoError(t, err)
	}
	require.NoError(t, sc.Err())

	sealed := 0
	for _, s := range f.storedData(t) {
		assert.NotContains(t, s, "张三")
		if strings.Contains(s, `"pii"`) {
			sealed++
		}
	}
	assert.Equal(t, 3+2, sealed, "3 registrations and the 2 applications with a photo")

	byStream := map[string][]line{}
	for _, l := range log {
		byStream[l.Stream] = append(byStream[l.Stream], l)
	}
	var causes []domain.ECardRevocationCause
	for stream, want := range byStream {
		got, err := f.store.ReadStream(f.ctx, stream, 0, 0)
		require.NoError(t, err)
		require.Len(t, got, len(want))
		for i, r := range got {
			assert.JSONEq(t, string(want[i].Data), string(r.Data), "%s revision %d", stream, i)
			e, err := domain.DecodeStoredEvent(r.Type, r.Data, r.Metadata)
			require.NoError(t, err)
			if rev, ok := e.(domain.ECardRevoked); ok {
				causes = append(causes, rev.Cause)
			}
		}
	}
	assert.Equal(t, []domain.ECardRevocationCause{domain.ECardCauseUnrecorded, domain.ECardCauseUnrecorded}, causes)
}
