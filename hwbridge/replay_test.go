package hwbridge

import (
	"encoding/hex"
	"errors"
	"strings"
)

// replay answers APDUs with recorded responses, in order: it stands in for a
// card in the parsing tests and the fuzz targets.
type replay struct {
	rsps [][]byte
	sent [][]byte
}

var errReplayEnd = errors.New("replay: no more responses")

func (r *replay) Transmit(cmd []byte) ([]byte, error) {
	r.sent = append(r.sent, append([]byte(nil), cmd...))
	if len(r.rsps) == 0 {
		return nil, errReplayEnd
	}
	rsp := r.rsps[0]
	r.rsps = r.rsps[1:]
	return rsp, nil
}

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}

// defaultRecords are the TLV records of sscard_vicc.py's default card,
// EF05 records 1-7 then EF06 records 1-6.
func defaultRecords() [][]byte {
	name := "D5C5C8FD" + strings.Repeat("00", 26) // 张三 in GBK, 0x00-padded to 30
	return [][]byte{
		unhex("01 10 110100 D156000005 00000001 FFFFFFFF"),
		unhex("02 01 33"),
		unhex("03 04 332E3030"),
		unhex("04 0C 110100D15600000511010001"),
		unhex("05 04 20200115"),
		unhex("06 04 20300115"),
		unhex("07 09 413132333435363738"),
		unhex("08 12 313130313035313939303033303732333131"),
		unhex("09 1E " + name),
		unhex("0A 01 31"),
		unhex("0B 01 01"),
		unhex("0C 03 110105"),
		unhex("0D 04 19900307"),
	}
}

// defaultResponses is what the default card answers to readCard's APDUs.
func defaultResponses() [][]byte {
	rsps := [][]byte{{0x90, 0x00}} // SELECT
	for _, rec := range defaultRecords() {
		rsps = append(rsps, append(append([]byte(nil), rec...), 0x90, 0x00))
	}
	return rsps
}

// frame joins responses as fuzz input: each one prefixed with its length.
func frame(rsps [][]byte) []byte {
	var out []byte
	for _, r := range rsps {
		out = append(out, byte(len(r)))
		out = append(out, r...)
	}
	return out
}

// unframe is frame's inverse; a short last response is taken as it is.
func unframe(b []byte) [][]byte {
	var rsps [][]byte
	for len(b) > 0 {
		n := int(b[0])
		b = b[1:]
		n = min(n, len(b))
		rsps = append(rsps, b[:n])
		b = b[n:]
	}
	return rsps
}
