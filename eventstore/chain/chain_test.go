package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
)

// The layout is a stored format: this vector must never change.
func TestHashVector(t *testing.T) {
	e := Event{Stream: "cardholder-1", Revision: 1, ID: uuid.MustParse("00112233-4455-6677-8899-aabbccddeeff"),
		Type: "CardIssued", Data: []byte(`{"n":1}`), Metadata: []byte(`{"by":"t"}`)}
	prev := bytes.Repeat([]byte{0xab}, Size)
	var layout []byte
	layout = append(layout, "cardledger/chain/v1"...)
	layout = append(layout, 0, 0, 0, 0, 0, 0, 0, 12)
	layout = append(layout, "cardholder-1"...)
	layout = append(layout, 0, 0, 0, 0, 0, 0, 0, 1)
	layout = append(layout, e.ID[:]...)
	layout = append(layout, 0, 0, 0, 0, 0, 0, 0, 10)
	layout = append(layout, "CardIssued"...)
	layout = append(layout, 0, 0, 0, 0, 0, 0, 0, 7)
	layout = append(layout, `{"n":1}`...)
	layout = append(layout, 0, 0, 0, 0, 0, 0, 0, 10)
	layout = append(layout, `{"by":"t"}`...)
	layout = append(layout, 0, 0, 0, 0, 0, 0, 0, 32)
	layout = append(layout, prev...)
	if got, want := Hash(prev, e), sha256Of(layout); !bytes.Equal(got, want) {
		t.Errorf("Hash = %x, want %x", got, want)
	}
}

func TestHashCoversEveryField(t *testing.T) {
	base := Event{Stream: "s", Revision: 3, ID: uuid.New(), Type: "T", Data: []byte("d"), Metadata: []byte("m")}
	prev := Hash(nil, base)
	ref := Hash(prev, base)
	changes := map[string]func(e *Event, prev *[]byte){
		"stream":   func(e *Event, _ *[]byte) { e.Stream = "t" },
		"revision": func(e *Event, _ *[]byte) { e.Revision = 4 },
		"id":       func(e *Event, _ *[]byte) { e.ID = uuid.New() },
		"type":     func(e *Event, _ *[]byte) { e.Type = "U" },
		"data":     func(e *Event, _ *[]byte) { e.Data = []byte("D") },
		"metadata": func(e *Event, _ *[]byte) { e.Metadata = []byte("M") },
		"prev":     func(_ *Event, p *[]byte) { *p = nil },
		// Length prefixes keep field boundaries: moving a byte between
		// neighbouring fields changes the hash.
		"boundary": func(e *Event, _ *[]byte) { e.Type, e.Data = "Td", nil },
	}
	for name, change := range changes {
		e, p := base, prev
		change(&e, &p)
		if bytes.Equal(Hash(p, e), ref) {
			t.Errorf("changing %s keeps the hash", name)
		}
	}
}

func TestEnvelopeEncodings(t *testing.T) {
	hash := bytes.Repeat([]byte{0x0f}, Size)
	h := hex.EncodeToString(hash)
	tests := []struct {
		metadata []byte
		stored   string
	}{
		{nil, `{"chain":"v1:` + h + `"}`},
		{[]byte(`{"by":"窗口01"}`), `{"chain":"v1:` + h + `","metadata":{"by":"窗口01"}}`},
		{[]byte(` {} `), `{"chain":"v1:` + h + `","metadata_b64":"IHt9IA=="}`},
		{[]byte("\xff"), `{"chain":"v1:` + h + `","metadata_b64":"/w=="}`},
	}
	for _, tc := range tests {
		stored := EncodeMetadata(hash, tc.metadata)
		if string(stored) != tc.stored {
			t.Errorf("EncodeMetadata(%q) = %s, want %s", tc.metadata, stored, tc.stored)
		}
		gotHash, gotMeta, err := DecodeMetadata(stored)
		if err != nil || !bytes.Equal(gotHash, hash) || !bytes.Equal(gotMeta, tc.metadata) {
			t.Errorf("DecodeMetadata(%s) = %x, %q, %v", stored, gotHash, gotMeta, err)
		}
	}
}

func TestDecodeRefusesOtherEncodings(t *testing.T) {
	h := hex.EncodeToString(bytes.Repeat([]byte{0x0f}, Size))
	for _, stored := range []string{
		``,
		`{"by":"storetest"}`,
		`{"chain":"v1:` + h[:62] + `"}`,
		`{"chain":"v1:` + h[:62] + `0F"}`, // upper-case hex
		`{"chain":"v1:` + h + `", "metadata":{}}`,
		`{"chain":"v1:` + h + `","metadata": {}}`,
		`{"chain":"v1:` + h + `","metadata":{}`,
		`{"chain":"v1:` + h + `","metadata_b64":"e30="}`, // {} must be embedded
		`{"chain":"v1:` + h + `","metadata_b64":""}`,
		`{"chain":"v1:` + h + `","metadata_b64":"/w"}`, // unpadded
		`{"chain":"v2:` + h + `"}`,
	} {
		if _, _, err := DecodeMetadata([]byte(stored)); !errors.Is(err, ErrNoEnvelope) {
			t.Errorf("DecodeMetadata(%s): err = %v, want ErrNoEnvelope", stored, err)
		}
	}
}

func TestWalker(t *testing.T) {
	stream := "card-1"
	var events []eventstore.RecordedEvent
	var prev []byte
	for rev := range uint64(4) {
		e := eventstore.RecordedEvent{Stream: stream, Revision: rev, ID: uuid.New(), Type: "T", Data: []byte(`{}`)}
		e.Hash = Hash(prev, Event{Stream: stream, Revision: rev, ID: e.ID, Type: e.Type, Data: e.Data})
		prev = e.Hash
		events = append(events, e)
	}
	altered := func(i int, f func(*eventstore.RecordedEvent)) []eventstore.RecordedEvent {
		out := append([]eventstore.RecordedEvent(nil), events...)
		f(&out[i])
		return out
	}
	tests := []struct {
		name   string
		events []eventstore.RecordedEvent
		kind   BreakKind
		rev    uint64
	}{
		{"intact", events, "", 0},
		{"data changed", altered(2, func(e *eventstore.RecordedEvent) { e.Data = []byte(`{"x":1}`) }), Altered, 2},
		{"hash recomputed breaks the next link", altered(1, func(e *eventstore.RecordedEvent) {
			e.Type = "U"
			e.Hash = Hash(events[0].Hash, Event{Stream: stream, Revision: 1, ID: e.ID, Type: e.Type, Data: e.Data})
		}), Altered, 2},
		{"event removed", append(append([]eventstore.RecordedEvent(nil), events[:1]...), events[2:]...), Gap, 1},
		{"first removed", events[1:], Gap, 0},
		{"hash dropped", altered(3, func(e *eventstore.RecordedEvent) { e.Hash = nil }), Unchained, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w Walker
			var first error
			for _, e := range tc.events {
				if err := w.Next(e); err != nil && first == nil {
					first = err
				}
			}
			if tc.kind == "" {
				if first != nil {
					t.Fatalf("intact chain: %v", first)
				}
				return
			}
			var be *BreakError
			if !errors.As(first, &be) || be.Kind != tc.kind || be.Revision != tc.rev || be.Stream != stream {
				t.Fatalf("first break = %v, want %s at %d", first, tc.kind, tc.rev)
			}
		})
	}
}

func sha256Of(b []byte) []byte {
	h := sha256.Sum256(b)
	return h[:]
}
