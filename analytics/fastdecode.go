package analytics

import (
	"encoding/json"
	"errors"
	"time"
)

// decodeUsageFast reads the flat JSON object domain.UsageRecorded marshals
// to, without reflection: the projection decodes one per usage event, and
// encoding/json's cost would otherwise dominate its insert speed. It
// reports ok=false for anything it does not handle (escapes in strings,
// nested values, numbers, unknown layout); callers then use encoding/json,
// which gives the same result.
func decodeUsageFast(data []byte) (f usageFact, ok bool) {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return f, false
	}
	i++
	for {
		i = skipSpace(data, i)
		if i < len(data) && data[i] == '}' {
			return f, skipSpace(data, i+1) == len(data)
		}
		key, next, good := readString(data, i)
		if !good {
			return f, false
		}
		i = skipSpace(data, next)
		if i >= len(data) || data[i] != ':' {
			return f, false
		}
		i = skipSpace(data, i+1)
		val, next, good := readString(data, i)
		if !good {
			return f, false
		}
		switch string(key) {
		case "record_id":
			f.RecordID = string(val)
		case "card_no":
			f.CardNo = string(val)
		case "at":
			t, err := time.Parse(time.RFC3339Nano, string(val))
			if err != nil {
				return f, false
			}
			f.At = t
		case "kind":
			f.Kind = string(val)
		case "amount":
			f.Amount = string(val)
		case "region_code":
			f.RegionCode = string(val)
		case "merchant":
			f.Merchant = string(val)
		case "category":
			f.Category = string(val)
		case "channel":
			f.Channel = string(val)
		}
		i = skipSpace(data, next)
		if i < len(data) && data[i] == ',' {
			i++
			continue
		}
		if i < len(data) && data[i] == '}' {
			return f, skipSpace(data, i+1) == len(data)
		}
		return f, false
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// readString reads a JSON string without escapes starting at b[i] == '"'.
func readString(b []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return b[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return nil, i, false
		}
	}
	return nil, i, false
}

// decodeUsageFact decodes a usage payload, fast path first.
func decodeUsageFact(data []byte) (usageFact, error) {
	f, ok := decodeUsageFast(data)
	if !ok {
		f = usageFact{}
		if err := json.Unmarshal(data, &f); err != nil {
			return f, errors.Join(errDecodeUsage, err)
		}
	}
	fen, err := parseFen(f.Amount)
	if err != nil {
		return f, errors.Join(errDecodeUsage, err)
	}
	f.fen = fen
	return f, nil
}

var errDecodeUsage = errors.New("decode " + "UsageRecorded")
