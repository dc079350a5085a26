package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Unified social credit codes (统一社会信用代码, GB 32100-2015): 18
// characters from a 31-character alphabet (digits and capitals without I,
// O, Z, S, V): registration authority (1), organisation category (1),
// region code (6 digits), organisation code (9) and a check character.
// The check character makes sum(value(c_i) * 3^i mod 31) + value(check)
// a multiple of 31, so any single wrong character and most swaps are caught.

// creditCodeAlphabet is the code's alphabet in value order (0..30).
const creditCodeAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditCodeWeights are 3^i mod 31 for i = 0..16.
var creditCodeWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CodeInvalidCreditCode is the field code of a malformed credit code.
const CodeInvalidCreditCode = "invalid_credit_code"

// CreditCodeCheckChar returns the check character of the first 17
// characters of a unified social credit code.
func CreditCodeCheckChar(base string) (byte, error) {
	if len(base) != 17 {
		return 0, fmt.Errorf("a credit code base has 17 characters, not %d", len(base))
	}
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditCodeAlphabet, base[i])
		if v < 0 {
			return 0, fmt.Errorf("character %d (%q) is not in the credit code alphabet", i+1, base[i])
		}
		sum += v * creditCodeWeights[i]
	}
	return creditCodeAlphabet[(31-sum%31)%31], nil
}

// ValidateCreditCode checks a unified social credit code: length,
// alphabet, a digit region code and the GB 32100 check character.
func ValidateCreditCode(code string) error {
	if len(code) != 18 {
		return fmt.Errorf("a unified social credit code has 18 characters, not %d", len([]rune(code)))
	}
	for i := 2; i < 8; i++ {
		if code[i] < '0' || code[i] > '9' {
			return errors.New("characters 3 to 8 are the region code: digits only")
		}
	}
	want, err := CreditCodeCheckChar(code[:17])
	if err != nil {
		return err
	}
	if code[17] != want {
		return fmt.Errorf("the check character is %q, not %q", want, code[17])
	}
	return nil
}
