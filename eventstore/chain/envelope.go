package chain

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNoEnvelope: stored metadata is not a chain envelope (an event written
// without the chain, or an envelope that was altered).
var ErrNoEnvelope = errors.New("metadata is not a chain envelope")

const (
	envHead   = `{"chain":"v1:`
	envRaw    = `","metadata":`
	envBase64 = `","metadata_b64":"`
)

// embeddable reports whether metadata goes into the envelope verbatim.
func embeddable(metadata []byte) bool {
	return len(metadata) > 0 && json.Valid(metadata) && len(bytes.TrimSpace(metadata)) == len(metadata)
}

// EncodeMetadata wraps metadata and its event's hash in the envelope stored
// as EventStoreDB metadata.
func EncodeMetadata(hash, metadata []byte) []byte {
	out := make([]byte, 0, len(envHead)+2*len(hash)+len(envBase64)+base64.StdEncoding.EncodedLen(len(metadata))+3)
	out = append(out, envHead...)
	out = hex.AppendEncode(out, hash)
	switch {
	case len(metadata) == 0:
		out = append(out, `"}`...)
	case embeddable(metadata):
		out = append(out, envRaw...)
		out = append(out, metadata...)
		out = append(out, '}')
	default:
		out = append(out, envBase64...)
		out = base64.StdEncoding.AppendEncode(out, metadata)
		out = append(out, `"}`...)
	}
	return out
}

// DecodeMetadata unwraps an envelope written by EncodeMetadata. It returns
// nil metadata for an envelope without any. Anything but the one encoding
// EncodeMetadata gives is refused with ErrNoEnvelope.
func DecodeMetadata(stored []byte) (hash, metadata []byte, err error) {
	rest, ok := bytes.CutPrefix(stored, []byte(envHead))
	if !ok || len(rest) < 2*Size {
		return nil, nil, ErrNoEnvelope
	}
	hexHash := rest[:2*Size]
	hash = make([]byte, Size)
	if _, err := hex.Decode(hash, hexHash); err != nil || !bytes.Equal(hex.AppendEncode(nil, hash), hexHash) {
		return nil, nil, fmt.Errorf("%w: hash is not lowercase hex", ErrNoEnvelope)
	}
	rest = rest[2*Size:]
	switch {
	case string(rest) == `"}`:
		return hash, nil, nil
	case bytes.HasPrefix(rest, []byte(envRaw)):
		m, ok := bytes.CutSuffix(rest[len(envRaw):], []byte("}"))
		if !ok || !embeddable(m) {
			return nil, nil, fmt.Errorf("%w: bad embedded metadata", ErrNoEnvelope)
		}
		return hash, bytes.Clone(m), nil
	case bytes.HasPrefix(rest, []byte(envBase64)):
		b64, ok := bytes.CutSuffix(rest[len(envBase64):], []byte(`"}`))
		if !ok {
			return nil, nil, fmt.Errorf("%w: unterminated base64 metadata", ErrNoEnvelope)
		}
		m, err := base64.StdEncoding.AppendDecode(nil, b64)
		if err != nil || len(m) == 0 || embeddable(m) || !bytes.Equal(base64.StdEncoding.AppendEncode(nil, m), b64) {
			return nil, nil, fmt.Errorf("%w: bad base64 metadata", ErrNoEnvelope)
		}
		return hash, m, nil
	}
	return nil, nil, ErrNoEnvelope
}
