package hwbridge

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

func TestReadCardFromRecordedResponses(t *testing.T) {
	rp := &replay{rsps: defaultResponses()}
	s := &session{ctx: context.Background(), t: rp}
	got, err := readCard(s)
	if err != nil {
		t.Fatal(err)
	}
	want := defaultCard()
	want.ATR = nil
	assertCard(t, got, want)
	wantCmds := []string{
		"00A4040C0F7378312E73682EC9E7BBE1B1A3D5CF",
		"00B2012C12", "00B2022C03", "00B2032C06", "00B2042C0E", "00B2052C06", "00B2062C06", "00B2072C0B",
		"00B2013414", "00B2023420", "00B2033403", "00B2043403", "00B2053405", "00B2063406",
	}
	var sent []string
	for _, c := range rp.sent {
		sent = append(sent, hexUpper(c))
	}
	if !slices.Equal(sent, wantCmds) || s.apdus != readCardAPDUs {
		t.Errorf("sent %d APDUs %q\nwant %q", s.apdus, sent, wantCmds)
	}
}

func hexUpper(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}

func TestExchangeFollowsGetResponseAndWrongLe(t *testing.T) {
	rp := &replay{rsps: [][]byte{
		unhex("6C06"),           // wrong Le: the record has 6 bytes
		unhex("0203 AABB 6102"), // T=0: 2 more bytes waiting
		unhex("CCDD 9000"),
	}}
	s := &session{ctx: context.Background(), t: rp}
	r, err := s.exchange("test", readRecordCmd(5, 2, 0))
	if err != nil {
		t.Fatal(err)
	}
	if hexUpper(r.data) != "0203AABBCCDD" || r.sw != 0x9000 {
		t.Errorf("response %X sw %04X", r.data, r.sw)
	}
	wantCmds := []string{"00B2022C00", "00B2022C06", "00C0000002"}
	var sent []string
	for _, c := range rp.sent {
		sent = append(sent, hexUpper(c))
	}
	if !slices.Equal(sent, wantCmds) || s.apdus != 3 {
		t.Errorf("sent %q (%d counted), want %q", sent, s.apdus, wantCmds)
	}
}

func TestExchangeStopsEndlessChains(t *testing.T) {
	rsps := make([][]byte, 20)
	for i := range rsps {
		rsps[i] = unhex("6101")
	}
	s := &session{ctx: context.Background(), t: &replay{rsps: rsps}}
	if _, err := s.exchange("test", readRecordCmd(5, 1, 0x12)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
	if s.apdus != maxChained {
		t.Errorf("sent %d APDUs, want %d", s.apdus, maxChained)
	}
}

func TestExchangeStopsAtDeadline(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	s := &session{ctx: ctx, t: &replay{rsps: defaultResponses()}}
	_, err := readCard(s)
	if !errors.Is(err, ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) || s.apdus != 0 {
		t.Fatalf("err = %v after %d APDUs, want ErrTimeout before any APDU", err, s.apdus)
	}
}

func TestParseResponse(t *testing.T) {
	cases := []struct {
		raw  string
		data string
		sw   uint16
		err  error
	}{
		{"", "", 0, ErrEmptyResponse},
		{"90", "", 0, ErrMalformed},
		{"9000", "", 0x9000, nil},
		{"01029000", "0102", 0x9000, nil},
		{"6A82", "", 0x6A82, nil},
	}
	for _, c := range cases {
		r, err := parseResponse(unhex(c.raw))
		if !errors.Is(err, c.err) || (err == nil && (hexUpper(r.data) != c.data || r.sw != c.sw)) {
			t.Errorf("parseResponse(%s) = %X %04X %v, want %s %04X %v", c.raw, r.data, r.sw, err, c.data, c.sw, c.err)
		}
	}
}

func TestRecordValueRejectsMalformedTLV(t *testing.T) {
	num := field{0x07, "Number", 9, 9}
	name := field{0x09, "Name", 1, 30}
	cases := []struct {
		name string
		f    field
		rec  string
		want string // value hex, or "" for a *TLVError
	}{
		{"well formed", num, "0709413132333435363738", "413132333435363738"},
		{"long form length", num, "078109413132333435363738", "413132333435363738"},
		{"short name", name, "0902D5C5", "D5C5"},
		{"empty record", num, "", ""},
		{"tag only", num, "07", ""},
		{"other tag", num, "0809413132333435363738", ""},
		{"truncated value", num, "07094131323334", ""},
		{"bytes after the value", num, "0709413132333435363738FF", ""},
		{"value too short for the field", num, "0708 4131323334353637", ""},
		{"value too long for the field", name, "091F" + "41" + "00000000000000000000000000000000000000000000000000000000000000", ""},
		{"indefinite length", num, "0780413132333435363738", ""},
		{"two length bytes", num, "07820009413132333435363738", ""},
		{"long form truncated", num, "0781", ""},
	}
	for _, c := range cases {
		v, err := recordValue("EF05", c.f, unhex(c.rec))
		if c.want == "" {
			var te *TLVError
			if !errors.As(err, &te) || !errors.Is(err, ErrMalformed) || te.Tag != c.f.tag {
				t.Errorf("%s: value %X, err %v; want *TLVError", c.name, v, err)
			}
			continue
		}
		if err != nil || hexUpper(v) != c.want {
			t.Errorf("%s: value %X, err %v; want %s", c.name, v, err, c.want)
		}
	}
}

func TestParseCitizenID(t *testing.T) {
	cases := []struct {
		id string
		ok bool
	}{
		{"110105199003072311", true},
		{"44030420001231004X", true},
		{"11010519900307232X", true},
		{"110105199003072312", false}, // check digit
		{"44030420001231004x", false}, // lower-case x
		{"11010519900230231X", false}, // 30 February
		{"11010519900307231", false},  // 17 characters
		{"1101051990030723110", false},
		{"11010519900307A311", false},
		{"", false},
	}
	for _, c := range cases {
		_, err := ParseCitizenID(c.id)
		if (err == nil) != c.ok {
			t.Errorf("ParseCitizenID(%q) err = %v, want ok=%v", c.id, err, c.ok)
		}
	}
	id, _ := ParseCitizenID("44030420001231004X")
	if id.Region() != "440304" || id.BirthDate() != (Date{2000, time.December, 31}) || id.Sex() != Female {
		t.Errorf("parts of %s: %s %s %s", id, id.Region(), id.BirthDate(), id.Sex())
	}
}

func TestDecodeName(t *testing.T) {
	cases := []struct {
		gbk  string
		want string // "" for an error
	}{
		{"D5C5C8FD0000", "张三"},
		{"C5B7D1F4C4C8C4C82020", "欧阳娜娜"},
		{"41", "A"},
		{"000000", ""},
		{"D5", ""},         // half a character
		{"D5C50AC8FD", ""}, // control character inside
		{"FFFF", ""},
	}
	for _, c := range cases {
		got, err := decodeName(unhex(c.gbk))
		if (c.want == "") != (err != nil) || got != c.want {
			t.Errorf("decodeName(%s) = %q, %v; want %q", c.gbk, got, err, c.want)
		}
	}
}

func TestDateOfUsesChinaTime(t *testing.T) {
	if got := DateOf(time.Date(2030, 1, 15, 15, 59, 59, 0, time.UTC)); got != (Date{2030, 1, 15}) {
		t.Errorf("15:59:59Z = %s", got)
	}
	if got := DateOf(time.Date(2030, 1, 15, 16, 0, 0, 0, time.UTC)); got != (Date{2030, 1, 16}) {
		t.Errorf("16:00:00Z = %s", got)
	}
}
