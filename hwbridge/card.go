package hwbridge

import (
	"fmt"
	"time"
)

// Card is everything ReadCard reads from a social-security card. A Card
// returned without error has every field set and validated.
type Card struct {
	ATR    []byte // answer to reset, as the reader reported it
	Ident  CardIdent
	Holder Holder
}

// CardIdent is EF05, the card identification data.
type CardIdent struct {
	// IdentCode (tag 01) is the 16-byte card identification code in upper
	// case hex: issuing region (BCD), RID D156000005, serial.
	IdentCode string
	// Region is the issuing region code, the first 6 digits of IdentCode.
	Region string
	// Type (tag 02) is the card type as stored (one character).
	Type string
	// SpecVersion (tag 03) is the specification version, e.g. "3.00".
	SpecVersion string
	// IssuingOrg (tag 04) is the 12-byte initialising organisation code in
	// upper case hex.
	IssuingOrg string
	IssueDate  Date // tag 05
	ExpiryDate Date // tag 06
	// Number (tag 07) is the 9-character card number, e.g. "A12345678".
	Number string
}

// Holder is EF06, the card holder's basic data.
type Holder struct {
	SSN        CitizenID // tag 08: social security number = citizen ID number
	Name       string    // tag 09, decoded from GBK
	Sex        Sex       // tag 0A
	Ethnicity  int       // tag 0B, GB 3304 code: 1-56 (1 = 汉族), 97 other, 98 foreign origin
	Birthplace string    // tag 0C, 6-digit region code
	BirthDate  Date      // tag 0D
}

// Expired reports whether the card's expiry date has passed at now (dates
// are read in China time; the card is valid through its expiry date).
func (c Card) Expired(now time.Time) bool {
	return DateOf(now).Compare(c.Ident.ExpiryDate) > 0
}

// ValidAt returns nil if the card is within its validity at now, else an
// error matching ErrCardExpired. An expired card still reads: the counter
// needs its data to replace it.
func (c Card) ValidAt(now time.Time) error {
	if c.Expired(now) {
		return fmt.Errorf("%w on %s (today %s)", ErrCardExpired, c.Ident.ExpiryDate, DateOf(now))
	}
	return nil
}
