package chain

import (
	"bytes"
	"testing"
)

// Stored metadata comes back from the database; whatever it holds,
// DecodeMetadata must not panic, and what it accepts must re-encode to the
// same bytes (one encoding per envelope, so the hashed bytes are exact).
func FuzzDecodeMetadata(f *testing.F) {
	hash := bytes.Repeat([]byte{0x5a}, Size)
	for _, m := range []string{"", `{"by":"storetest"}`, " {} ", "\xff\x00", `"x"`, `[1,2]`} {
		f.Add(EncodeMetadata(hash, []byte(m)))
	}
	f.Add([]byte(`{"by":"storetest"}`))
	f.Fuzz(func(t *testing.T, stored []byte) {
		h, m, err := DecodeMetadata(stored)
		if err != nil {
			return
		}
		if again := EncodeMetadata(h, m); !bytes.Equal(again, stored) {
			t.Fatalf("DecodeMetadata(%q) = %x, %q, which encodes to %q", stored, h, m, again)
		}
	})
}

// Any metadata the application gives survives the envelope byte for byte.
func FuzzEnvelopeRoundTrip(f *testing.F) {
	for _, m := range []string{"", `{}`, ` {}`, `{"a":"}"}`, "\xff", `null`} {
		f.Add([]byte(m))
	}
	f.Fuzz(func(t *testing.T, metadata []byte) {
		hash := bytes.Repeat([]byte{0x01}, Size)
		h, m, err := DecodeMetadata(EncodeMetadata(hash, metadata))
		if err != nil || !bytes.Equal(h, hash) || !bytes.Equal(m, metadata) {
			t.Fatalf("round trip of %q = %x, %q, %v", metadata, h, m, err)
		}
	})
}
