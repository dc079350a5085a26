package hwbridge

import "fmt"

// CitizenID is an 18-character citizen identity number (公民身份号码,
// GB 11643-1999): 6-digit region, 8-digit birth date, 3-digit sequence
// (odd for men, even for women) and a check character 0-9 or X. The social
// security number on the card is this number.
type CitizenID string

// checkChar returns the GB 11643 check character for the first 17 digits.
func checkChar(digits17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		weight := (1 << (17 - i)) % 11 // GB 11643: W_i = 2^(17-i) mod 11
		sum += int(digits17[i]-'0') * weight
	}
	return "10X98765432"[sum%11]
}

// ParseCitizenID validates s (18 characters, check character, birth date)
// and returns it as a CitizenID. A lower-case x is not accepted: the card
// stores upper case, so lower case means corrupted data.
func ParseCitizenID(s string) (CitizenID, error) {
	if len(s) != 18 {
		return "", fmt.Errorf("want 18 characters, got %d", len(s))
	}
	if !isDigits(s[:17]) {
		return "", fmt.Errorf("first 17 characters must be digits")
	}
	if _, err := parseDigits(s[6:14]); err != nil {
		return "", fmt.Errorf("birth date: %w", err)
	}
	if want := checkChar(s[:17]); s[17] != want {
		return "", fmt.Errorf("check character is %q, want %q", s[17], want)
	}
	return CitizenID(s), nil
}

// Region returns the 6-digit administrative region code of registration.
func (id CitizenID) Region() string { return string(id[:6]) }

// BirthDate returns the birth date encoded in the number.
func (id CitizenID) BirthDate() Date {
	d, _ := parseDigits(string(id[6:14])) // validated by ParseCitizenID
	return d
}

// Sex returns the sex encoded in the sequence number (odd: male).
func (id CitizenID) Sex() Sex {
	if (id[16]-'0')%2 == 1 {
		return Male
	}
	return Female
}

// Sex is coded as in GB/T 2261.1: 1 male, 2 female.
type Sex uint8

const (
	Male   Sex = 1
	Female Sex = 2
)

func (s Sex) String() string {
	switch s {
	case Male:
		return "male"
	case Female:
		return "female"
	}
	return fmt.Sprintf("Sex(%d)", uint8(s))
}
