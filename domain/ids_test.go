package domain

import (
	"errors"
	"regexp"
	"testing"
	"time"
)

func TestValidateIDNumber(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		id   string
		want error
	}{
		{"320505199003071336", nil},
		{"11010519491231002X", nil}, // the GB 11643 example
		{"32050519900307131X", nil},
		{"320508200002290013", nil}, // leap day
		{"810000199512315025", nil}, // Hong Kong prefix
		{"320505199003071337", ErrIDNumberCheckDigit},
		{"110105194912310021", ErrIDNumberCheckDigit},
		{"11010519491231002x", ErrIDNumberCharacters}, // callers normalise
		{"3205051990030713", ErrIDNumberLength},
		{"3205051990030713360", ErrIDNumberLength},
		{"", ErrIDNumberLength},
		{"32050519900307133A", ErrIDNumberCharacters},
		{"3205051990030X1336", ErrIDNumberCharacters},
		{"990505199003071336", ErrIDNumberRegion},
		{"320505199002301336", ErrIDNumberBirthDate}, // 30 February
		{"320505199013071336", ErrIDNumberBirthDate}, // month 13
		{"320508190002290013", ErrIDNumberBirthDate}, // 1900 was no leap year
		{"440524188001010014", ErrIDNumberBirthDate}, // GB 11643 example, born 1880
		{"320505202506021336", ErrIDNumberBirthDate}, // tomorrow in China
		{"320505209901011336", ErrIDNumberBirthDate}, // far future
	} {
		t.Run(tc.id, func(t *testing.T) {
			err := validateIDNumberAt(tc.id, now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestIDNumberBornTodayInChinaIsValid(t *testing.T) {
	// 2025-06-01 17:00 UTC is 2 June in China.
	now := time.Date(2025, 6, 1, 17, 0, 0, 0, time.UTC)
	id := "32050520250602133"
	id += string(IDCheckChar(id))
	if err := validateIDNumberAt(id, now); err != nil {
		t.Fatal(err)
	}
}

func TestIDCheckChar(t *testing.T) {
	if got := IDCheckChar("11010519491231002"); got != 'X' {
		t.Fatalf("got %c", got)
	}
	if got := IDCheckChar("44052418800101001"); got != '4' {
		t.Fatalf("got %c", got)
	}
}

func TestBirthDateAndSexOf(t *testing.T) {
	d, err := BirthDateOf("11010519491231002X")
	if err != nil || !d.Equal(time.Date(1949, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("got %v %v", d, err)
	}
	if _, err := BirthDateOf("110105194912310021"); !errors.Is(err, ErrIDNumberCheckDigit) {
		t.Fatalf("got %v", err)
	}
	for id, want := range map[string]Sex{
		"320505199003071336": Male,
		"320505199003071424": Female,
		"11010519491231002X": Female,
		"32050519900307131X": Male,
		"short":              "",
		"3205051990030713a6": "",
	} {
		if got := SexOf(id); got != want {
			t.Errorf("SexOf(%s) = %q, want %q", id, got, want)
		}
	}
}

func TestNormalizeIDNumber(t *testing.T) {
	if got := NormalizeIDNumber(" 11010519491231002x\n"); got != "11010519491231002X" {
		t.Fatalf("got %q", got)
	}
}

func TestValidateRegionCode(t *testing.T) {
	for code, ok := range map[string]bool{
		"320000":  true,  // province
		"320500":  true,  // prefecture
		"320583":  true,  // county
		"110101":  true,  // municipality district
		"419001":  true,  // directly administered county-level city (济源)
		"820000":  true,  // Macao
		"320005":  false, // county under prefecture 00
		"990000":  false, // no such province
		"160100":  false,
		"32050":   false,
		"3205000": false,
		"32O500":  false,
		"":        false,
	} {
		if err := ValidateRegionCode(code); (err == nil) != ok {
			t.Errorf("ValidateRegionCode(%q) = %v, want ok=%v", code, err, ok)
		} else if err != nil && !errors.Is(err, ErrRegionCode) {
			t.Errorf("ValidateRegionCode(%q) = %v, not ErrRegionCode", code, err)
		}
	}
}

func TestPrefectureOf(t *testing.T) {
	for code, want := range map[string]string{"320583": "320500", "320500": "320500", "110105": "110100", "320000": "320000", "32": ""} {
		if got := PrefectureOf(code); got != want {
			t.Errorf("PrefectureOf(%q) = %q, want %q", code, got, want)
		}
	}
}

func TestCardholderIDHidesTheIDNumberAndCollidesForTheSamePerson(t *testing.T) {
	key := []byte("test key")
	id := CardholderIDFor(key, "11010519491231002X")
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
		t.Fatalf("id %q", id)
	}
	if again := CardholderIDFor(key, " 11010519491231002x "); again != id {
		t.Fatalf("same person, different ids: %s %s", id, again)
	}
	if other := CardholderIDFor(key, "320505199003071336"); other == id {
		t.Fatal("two people, one id")
	}
	if otherKey := CardholderIDFor([]byte("other key"), "11010519491231002X"); otherKey == id {
		t.Fatal("the key does not matter")
	}
	if StreamFor(id) != "cardholder-"+id {
		t.Fatal(StreamFor(id))
	}
	if got, ok := CardholderIDOfStream(StreamFor(id)); !ok || got != id {
		t.Fatal(got, ok)
	}
	if _, ok := CardholderIDOfStream("batch-1"); ok {
		t.Fatal("batch stream taken for a cardholder")
	}
}

func TestValidateCardNoAndChipID(t *testing.T) {
	for s, ok := range map[string]bool{"A12345678": true, "Z00000000": true, "a12345678": false, "A1234567": false, "A123456789": false, "AB2345678": false, "112345678": false} {
		if err := ValidateCardNo(s); (err == nil) != ok {
			t.Errorf("ValidateCardNo(%q) = %v", s, err)
		}
	}
	for s, ok := range map[string]bool{
		"0123456789ABCDEF0123456789ABCDEF":  true,
		"0123456789abcdef0123456789abcdef":  true,
		"0123456789ABCDEF0123456789ABCDEG":  false,
		"0123456789ABCDEF0123456789ABCDE":   false,
		"0123456789ABCDEF0123456789ABCDEF0": false,
	} {
		if err := ValidateChipID(s); (err == nil) != ok {
			t.Errorf("ValidateChipID(%q) = %v", s, err)
		}
	}
}

func TestRegions(t *testing.T) {
	prefs := Prefectures()
	seen := map[string]bool{}
	jiangsu := 0
	for _, r := range prefs {
		if err := ValidateRegionCode(r.Code); err != nil || PrefectureOf(r.Code) != r.Code || r.Name == "" {
			t.Errorf("bad prefecture %+v: %v", r, err)
		}
		if seen[r.Code] {
			t.Errorf("duplicate %s", r.Code)
		}
		seen[r.Code] = true
		if r.Code[:2] == "32" {
			jiangsu++
		}
		for _, county := range Counties(r.Code) {
			if err := ValidateRegionCode(county.Code); err != nil || PrefectureOf(county.Code) != r.Code || county.Code == r.Code {
				t.Errorf("bad county %+v of %s: %v", county, r.Code, err)
			}
		}
	}
	if jiangsu != 13 || len(prefs) < 50 {
		t.Fatalf("%d prefectures, %d in Jiangsu", len(prefs), jiangsu)
	}
	if len(Counties(DemoPrefecture)) != 9 {
		t.Fatalf("苏州 counties %v", Counties(DemoPrefecture))
	}
	for code, want := range map[string]string{
		"320500": "苏州市", "320583": "昆山市", "320508": "姑苏区", "440300": "深圳市",
		"320000": "江苏省", "110100": "北京市", "999999": "", "": "",
	} {
		if got := RegionName(code); got != want {
			t.Errorf("RegionName(%q) = %q, want %q", code, got, want)
		}
	}
	// Callers may change what they get without changing the tables.
	prefs[0].Name = "changed"
	if Prefectures()[0].Name == "changed" {
		t.Fatal("Prefectures shares its slice")
	}
}
