package domain

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Read models read the metadata of every event they apply (the audit
// trail all of it, the read model when the event occurred). The metadata
// this code writes is json.Marshal of Metadata: its fields in declaration
// order, no spaces. That form is read here without encoding/json; any
// other (escapes, other orders, unknown fields, events other tools wrote)
// takes encoding/json, which gives the same answer.

// DecodeStoredMetadata reads an event's stored metadata as json.Unmarshal
// into Metadata would, ignoring its error: metadata that is not JSON gives
// zero fields.
func DecodeStoredMetadata(metadata []byte) Metadata {
	if md, ok := fastMetadata(metadata); ok {
		return md
	}
	var md Metadata
	_ = json.Unmarshal(metadata, &md)
	return md
}

// StoredOccurredAt reads when an event occurred from its stored metadata;
// zero when the metadata has no time or is not JSON.
func StoredOccurredAt(metadata []byte) time.Time {
	s := metadataScanner{rest: metadata, ok: true}
	s.head()
	if s.ok {
		return s.md.OccurredAt
	}
	var m struct {
		OccurredAt time.Time `json:"occurred_at"`
	}
	if len(metadata) == 0 || json.Unmarshal(metadata, &m) != nil {
		return time.Time{}
	}
	return m.OccurredAt
}

// fastMetadata reads metadata in json.Marshal's form of Metadata.
func fastMetadata(metadata []byte) (Metadata, bool) {
	s := metadataScanner{rest: metadata, ok: true}
	s.head()
	s.lit(`,"actor":{"client":"`)
	s.md.Actor.Client = s.str()
	s.md.Actor.Operator = s.optional("operator")
	s.md.Actor.CertSubject = s.optional("cert_subject")
	s.lit(`}`)
	s.md.Channel = s.optional("channel")
	s.md.CorrelationID = s.optional("correlation_id")
	s.md.CausationID = s.optional("causation_id")
	s.md.RemoteAddr = s.optional("remote_addr")
	s.lit(`}`)
	return s.md, s.ok && len(s.rest) == 0
}

// metadataScanner reads Metadata's marshalled form left to right; ok
// turns false at the first byte it does not expect.
type metadataScanner struct {
	rest []byte
	ok   bool
	md   Metadata
}

// head reads the event id, the schema version and occurred_at.
func (s *metadataScanner) head() {
	s.lit(`{"event_id":"`)
	s.md.EventID = s.str()
	s.lit(`,"schema_version":`)
	end := 0
	for end < len(s.rest) && end < 4 && s.rest[end] >= '0' && s.rest[end] <= '9' {
		end++
	}
	if !s.ok || end == 0 || (end > 1 && s.rest[0] == '0') { // JSON has no leading zeros
		s.ok = false
		return
	}
	s.md.SchemaVersion, _ = strconv.Atoi(string(s.rest[:end]))
	s.rest = s.rest[end:]
	s.lit(`,"occurred_at":"`)
	at := s.raw()
	if s.ok && s.md.OccurredAt.UnmarshalText(at) != nil { // what time.Time's UnmarshalJSON parses
		s.ok = false
	}
}

func (s *metadataScanner) lit(l string) {
	if s.ok && bytes.HasPrefix(s.rest, []byte(l)) {
		s.rest = s.rest[len(l):]
		return
	}
	s.ok = false
}

// raw is a string's bytes up to its closing quote, if they need no
// decoding: no escapes, no control characters, valid UTF-8.
func (s *metadataScanner) raw() []byte {
	if !s.ok {
		return nil
	}
	end := bytes.IndexByte(s.rest, '"')
	if end < 0 {
		s.ok = false
		return nil
	}
	v := s.rest[:end]
	for _, c := range v {
		if c < 0x20 || c == '\\' {
			s.ok = false
			return nil
		}
	}
	if !utf8.Valid(v) {
		s.ok = false
		return nil
	}
	s.rest = s.rest[end+1:]
	return v
}

func (s *metadataScanner) str() string { return string(s.raw()) }

// optional reads `,"key":"value"` if it comes next (an omitempty field).
func (s *metadataScanner) optional(key string) string {
	if !s.ok || len(s.rest) < len(key)+5 || s.rest[0] != ',' || s.rest[1] != '"' ||
		!bytes.HasPrefix(s.rest[2:], []byte(key)) || !bytes.HasPrefix(s.rest[2+len(key):], []byte(`":"`)) {
		return ""
	}
	s.rest = s.rest[len(key)+5:]
	return s.str()
}
