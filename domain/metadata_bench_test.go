package domain

import (
	"encoding/json"
	"testing"
	"time"
)

// A command's metadata as the HTTP API writes it.
var benchMetadata = Metadata{
	EventID: "0f8e4c2a-6b1d-5e3f-9a7c-2d4b6e8f0a1c", SchemaVersion: 1,
	OccurredAt: time.Date(2026, 12, 6, 7, 12, 3, 123456789, time.UTC),
	Actor:      Actor{Client: "counter-app", Operator: "clerk-17"}, Channel: "http",
	CorrelationID: "5d1f0a9e-3c2b-4e6d-8f7a-1b0c9d8e7f6a", CausationID: "9a8b7c6d-5e4f-5a3b-8c2d-1e0f9a8b7c6d",
	RemoteAddr: "10.1.2.3",
}

// EncodeMetadata against what it did before appendJSON (encoding/json and
// the UTF-8 check).
func BenchmarkEncodeMetadata(b *testing.B) {
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := EncodeMetadata(benchMetadata); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, err := json.Marshal(benchMetadata)
			if err != nil || checkText("metadata", data) != nil {
				b.Fatal(err)
			}
		}
	})
}
