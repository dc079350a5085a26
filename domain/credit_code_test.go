package domain

import (
	"strings"
	"testing"
)

// A code published on a business licence (a Fuzhou enterprise's, often
// quoted as the standard's worked example) passes as printed.
func TestPublishedCreditCodeIsValid(t *testing.T) {
	if err := ValidateCreditCode("91350100M000100Y43"); err != nil {
		t.Fatal(err)
	}
}

// Codes built the way registries build them (authority, category, region,
// organisation code) get the computed check character; every other check
// character, and any single altered character, is refused.
func TestCreditCodeCheckCharacter(t *testing.T) {
	bases := []string{
		"91320500" + "MA1MXXXX0", // 9 enterprise, 1 company, Suzhou
		"12100000" + "400000624", // 1 government body, 2 public institution, national
		"52370800" + "MJD602781", // 5 civil affairs, 2 foundation, Jining
		"93320508" + "MA20RLU42", // 9, 3 farmers' cooperative, 姑苏区
	}
	for _, base := range bases {
		base = strings.ReplaceAll(base, "X", "3")
		check, err := CreditCodeCheckChar(base)
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		code := base + string(check)
		if err := ValidateCreditCode(code); err != nil {
			t.Errorf("%s: %v", code, err)
		}
		for _, c := range creditCodeAlphabet {
			if byte(c) != check && ValidateCreditCode(base+string(c)) == nil {
				t.Errorf("%s%c accepted with the wrong check character", base, c)
			}
		}
		for i := 8; i < 17; i++ { // the organisation code: any character of the alphabet
			for _, c := range creditCodeAlphabet {
				if byte(c) == code[i] {
					continue
				}
				altered := code[:i] + string(c) + code[i+1:]
				if ValidateCreditCode(altered) == nil {
					t.Errorf("%s (character %d altered) accepted", altered, i+1)
				}
			}
		}
	}
}

func TestMalformedCreditCodes(t *testing.T) {
	for name, code := range map[string]string{
		"too short":          "91350100M000100Y4",
		"too long":           "91350100M000100Y433",
		"letter I":           "91350100I000100Y43",
		"lower case":         "91350100m000100Y43",
		"letter in region":   "913501A0M000100Y43",
		"wrong check":        "91350100M000100Y44",
		"empty":              "",
		"non-ASCII (18 len)": "91350100M000100Y身",
	} {
		if ValidateCreditCode(code) == nil {
			t.Errorf("%s: %q accepted", name, code)
		}
	}
}
