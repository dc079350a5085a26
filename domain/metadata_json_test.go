package domain

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// EncodeMetadata writes every metadata byte for byte as encoding/json
// does, whether appendJSON or encoding/json wrote it; appendJSON writes
// the plain ones (what the HTTP API sends) itself.
func TestEncodeMetadataWritesWhatEncodingJSONWrites(t *testing.T) {
	at := time.Date(2026, 12, 6, 7, 12, 3, 123456789, time.UTC)
	plain := benchMetadata
	cases := map[string]struct {
		m     Metadata
		plain bool // appendJSON writes it
	}{
		"every field":         {plain, true},
		"only the required":   {Metadata{EventID: "e", OccurredAt: at, Actor: Actor{Client: "c"}}, true},
		"zero":                {Metadata{}, true},
		"cert, no operator":   {Metadata{EventID: "e", SchemaVersion: -3, OccurredAt: at, Actor: Actor{Client: "c", CertSubject: "CN=bank-102,O=Bank"}}, true},
		"whole second":        {Metadata{EventID: "e", OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, true},
		"an offset":           {Metadata{EventID: "e", OccurredAt: at.In(time.FixedZone("CST", 8*3600))}, true},
		"operator in Chinese": {Metadata{EventID: "e", Actor: Actor{Client: "c", Operator: "窗口 3"}}, false},
		"quote":               {Metadata{EventID: "e", Channel: `a"b`}, false},
		"backslash":           {Metadata{EventID: "e", RemoteAddr: `a\b`}, false},
		"html":                {Metadata{EventID: "e", CorrelationID: "<a&b>"}, false},
		"control":             {Metadata{EventID: "e", CausationID: "a\tb\x7f"}, false},
		"line separator":      {Metadata{EventID: "e", Actor: Actor{Client: "a\u2028b"}}, false},
		"year 10000":          {Metadata{EventID: "e", OccurredAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, false},
		"offset in seconds":   {Metadata{EventID: "e", OccurredAt: at.In(time.FixedZone("LMT", 8*3600+5*60+43))}, true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, plain := c.m.appendJSON(nil)
			assert.Equal(t, c.plain, plain, "written by appendJSON")
			want, wantErr := json.Marshal(c.m)
			got, err := EncodeMetadata(c.m)
			if wantErr != nil {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}
