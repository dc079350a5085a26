package domain

import (
	"testing"
)

// The fuzz targets check properties that hold for any input; their seed
// corpus is in testdata/fuzz. Run one with
// go test -run='^$' -fuzz=FuzzValidateIDNumber -fuzztime=30s ./domain.

func FuzzValidateIDNumber(f *testing.F) {
	f.Add("320505199003071336")
	f.Add("11010519491231002X")
	f.Fuzz(func(t *testing.T, s string) {
		if err := ValidateIDNumber(s); err != nil {
			return
		}
		if len(s) != 18 || IDCheckChar(s[:17]) != s[17] {
			t.Fatalf("accepted %q with a wrong check character", s)
		}
		if err := ValidateRegionCode(s[:2] + "0000"); err != nil {
			t.Fatalf("accepted %q with province %s: %v", s, s[:2], err)
		}
		if SexOf(s) == "" {
			t.Fatalf("accepted %q without a sex", s)
		}
		birth, err := BirthDateOf(s)
		if err != nil || birth.Format("20060102") != s[6:14] {
			t.Fatalf("accepted %q, birth date %v %v", s, birth, err)
		}
		if NormalizeIDNumber(s) != s {
			t.Fatalf("accepted %q, which is not normalised", s)
		}
	})
}

func FuzzValidateRegionCode(f *testing.F) {
	f.Add("320583")
	f.Add("320005")
	f.Fuzz(func(t *testing.T, s string) {
		if err := ValidateRegionCode(s); err != nil {
			return
		}
		if len(s) != 6 || !allDigits(s) {
			t.Fatalf("accepted %q", s)
		}
		if err := ValidateRegionCode(PrefectureOf(s)); err != nil {
			t.Fatalf("accepted %q but not its prefecture %s: %v", s, PrefectureOf(s), err)
		}
		if err := ValidateRegionCode(s[:2] + "0000"); err != nil {
			t.Fatalf("accepted %q but not its province: %v", s, err)
		}
	})
}
