package audit

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cardledger/cardledger/eventstore"
)

// Stored metadata is whatever was appended. The projection must make a
// storable row of any of it, or one bad event would stop it for good.
func FuzzActionRow(f *testing.F) {
	f.Add([]byte(`{"actor":{"client":"counter-futian","operator":"窗口01","cert_subject":"CN=x"},"channel":"http","remote_addr":"10.0.0.1","correlation_id":"c","causation_id":"d","occurred_at":"2026-03-01T08:00:00Z"}`))
	f.Add([]byte(`{"actor":{"client":"a\u0000b"},"channel":"\ud800"}`))
	f.Add([]byte(`{"occurred_at":"yesterday"}`))
	f.Add([]byte("\xff"))
	f.Fuzz(func(t *testing.T, metadata []byte) {
		row := actionRow(eventstore.RecordedEvent{Stream: "s", Type: "T", Metadata: metadata})
		if len(row) != len(actionColumns) {
			t.Fatalf("row has %d values for %d columns", len(row), len(actionColumns))
		}
		for i, v := range row {
			if s, ok := v.(string); ok && (strings.ContainsRune(s, 0) || !utf8.ValidString(s)) {
				t.Fatalf("column %s = %q is not storable", actionColumns[i], s)
			}
		}
	})
}
