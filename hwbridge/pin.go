package hwbridge

import (
	"fmt"
	"log/slog"
)

// PIN is a card holder's PIN. It never shows its digits: String, every fmt
// verb, MarshalText and slog all print "******". Build one with ParsePIN.
type PIN struct {
	digits string
}

const pinMask = "******"

// ParsePIN checks s (4 to 12 digits, an even count: the card compares the
// PIN BCD-packed, 123456 -> 12 34 56, without padding).
func ParsePIN(s string) (PIN, error) {
	if len(s) < 4 || len(s) > 12 || len(s)%2 != 0 || !isDigits(s) {
		return PIN{}, ErrInvalidPIN // deliberately without s
	}
	return PIN{digits: s}, nil
}

// bcd packs the digits, two per byte.
func (p PIN) bcd() []byte {
	out := make([]byte, len(p.digits)/2)
	for i := range out {
		out[i] = (p.digits[2*i]-'0')<<4 | (p.digits[2*i+1] - '0')
	}
	return out
}

func (p PIN) String() string                { return pinMask }
func (p PIN) GoString() string              { return "hwbridge.PIN{" + pinMask + "}" }
func (p PIN) Format(f fmt.State, verb rune) { fmt.Fprint(f, pinMask) }
func (p PIN) MarshalText() ([]byte, error)  { return []byte(pinMask), nil }
func (p PIN) LogValue() slog.Value          { return slog.StringValue(pinMask) }
func (p PIN) IsZero() bool                  { return p.digits == "" }

// PINStatus is the outcome of VerifyPIN or the state reported by PINState.
type PINStatus uint8

const (
	// PINVerified: the PIN was right (or, from PINState, is verified in
	// this card session).
	PINVerified PINStatus = iota + 1
	// PINWrong: the PIN was wrong; TriesLeft tries remain (0: now blocked).
	PINWrong
	// PINUnverified (PINState only): not verified yet, TriesLeft tries.
	PINUnverified
	// PINBlocked: the PIN is blocked (6983); the card refused to check it.
	PINBlocked
)

func (s PINStatus) String() string {
	switch s {
	case PINVerified:
		return "verified"
	case PINWrong:
		return "wrong"
	case PINUnverified:
		return "unverified"
	case PINBlocked:
		return "blocked"
	}
	return fmt.Sprintf("PINStatus(%d)", uint8(s))
}

// PINResult is what the card's retry counter says.
type PINResult struct {
	Status PINStatus
	// TriesLeft is the card's remaining tries for PINWrong and
	// PINUnverified, 0 for PINBlocked, -1 for PINVerified (the card does not
	// say; its counter is back at its maximum).
	TriesLeft int
}

// Blocked reports whether the PIN cannot be tried any more: refused as
// blocked, or a wrong PIN that used up the last try.
func (r PINResult) Blocked() bool {
	return r.Status == PINBlocked || (r.Status == PINWrong || r.Status == PINUnverified) && r.TriesLeft == 0
}

func (r PINResult) String() string {
	if r.Status == PINWrong || r.Status == PINUnverified {
		return fmt.Sprintf("%s, %d tries left", r.Status, r.TriesLeft)
	}
	return r.Status.String()
}
