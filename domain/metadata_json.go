package domain

import "strconv"

// appendJSON appends m as encoding/json writes it (field order, omitempty,
// RFC 3339 time), without reflection: metadata is encoded with every
// event appended. It handles only what it can write byte for byte as
// encoding/json does, printable ASCII text that needs no escape and a time
// json can write; ok is false for anything else (EncodeMetadata then asks
// encoding/json).
func (m Metadata) appendJSON(b []byte) (_ []byte, ok bool) {
	b = append(b, `{"event_id":`...)
	if b, ok = appendPlainString(b, m.EventID); !ok {
		return nil, false
	}
	b = append(b, `,"schema_version":`...)
	b = strconv.AppendInt(b, int64(m.SchemaVersion), 10)
	b = append(b, `,"occurred_at":"`...)
	b, err := m.OccurredAt.AppendText(b) // what Time.MarshalJSON writes between its quotes
	if err != nil {
		return nil, false
	}
	b = append(b, `","actor":{"client":`...)
	if b, ok = appendPlainString(b, m.Actor.Client); !ok {
		return nil, false
	}
	for _, f := range [...]struct{ name, value string }{
		{`,"operator":`, m.Actor.Operator}, {`,"cert_subject":`, m.Actor.CertSubject}, {`}`, ""},
		{`,"channel":`, m.Channel}, {`,"correlation_id":`, m.CorrelationID},
		{`,"causation_id":`, m.CausationID}, {`,"remote_addr":`, m.RemoteAddr}, {`}`, ""},
	} {
		switch {
		case f.name == `}`:
			b = append(b, '}')
		case f.value != "": // omitempty
			b = append(b, f.name...)
			if b, ok = appendPlainString(b, f.value); !ok {
				return nil, false
			}
		}
	}
	return b, true
}

// appendPlainString appends s quoted if encoding/json would write it as
// it is: printable ASCII without '"', '\\' or the HTML characters it
// escapes ('<', '>', '&').
func appendPlainString(b []byte, s string) ([]byte, bool) {
	for i := range len(s) {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return nil, false
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}
