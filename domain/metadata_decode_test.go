package domain

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// DecodeStoredMetadata answers what json.Unmarshal into Metadata answers
// (its error ignored), whichever path it takes.
func FuzzDecodeStoredMetadataAgreesWithJSON(f *testing.F) {
	full, err := json.Marshal(Metadata{EventID: "4473a2fb-44b4-57b6-9cf1-b0a8e2bbc880", SchemaVersion: 2,
		OccurredAt: time.Date(2026, 12, 6, 7, 5, 1, 123456789, time.FixedZone("", 8*3600)),
		Actor:      Actor{Client: "counter", Operator: "op-7", CertSubject: "CN=counter"}, Channel: "http",
		CorrelationID: "c", CausationID: "d", RemoteAddr: "127.0.0.1"})
	if err != nil {
		f.Fatal(err)
	}
	bare, err := json.Marshal(Metadata{EventID: "x", SchemaVersion: 1})
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		string(full), string(bare),
		`{"event_id":"x","schema_version":1,"occurred_at":"2026-12-06T07:05:01Z","actor":{"client":"a<b>&c"}}`,
		`{"event_id":"x","schema_version":1,"occurred_at":"2026-12-06T07:05:01Z","actor":{"client":"a\u003cb"}}`,
		`{"event_id":"x","schema_version":1,"occurred_at":"2026-12-06T07:05:01Z","actor":{"client":"\xff"}}`,
		`{"event_id":"x","schema_version":1,"occurred_at":"2026-12-06T07:05:01Z","actor":{"client":"a","operator":""}}`,
		`{"event_id":"x","schema_version":1,"occurred_at":"2026-12-06T07:05:01Z","actor":{"client":"a"},"channel":"http","extra":1}`,
		`{"event_id":"x","schema_version":1,"occurred_at":"2026-12-06T07:05:01Z","actor":{"client":"a"},"remote_addr":"b","channel":"http"}`,
		`{"event_id":"x","schema_version":1,"occurred_at":"2026-12-06T07:05:01Z","actor":{"client":"a"}} `,
		`{"event_id":"x","schema_version":1,"occurred_at":"2026-12-06T07:05:01Z","actor":{"client":"a"}`,
		`{"event_id":"x","schema_version":01,"occurred_at":"2026-12-06T07:05:01Z","actor":{"client":"a"}}`,
		`{"event_id":"x","schema_version":1,"occurred_at":"2026-12-06 07:05:01Z","actor":{"client":"a"}}`,
		`{"schema_version":"2","actor":{"client":"a"}}`, ``, `null`, `not json`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, metadata []byte) {
		var want Metadata
		_ = json.Unmarshal(metadata, &want)
		if got := DecodeStoredMetadata(metadata); !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: %+v, json %+v", metadata, got, want)
		}
	})
}
