package hwbridge

import (
	"errors"
	"fmt"
)

// Sentinels a caller branches on with errors.Is. Errors returned by this
// package wrap one of them (or a *StatusError, *TLVError or *FieldError,
// which match their sentinel through Is) together with the operation that
// failed and, where there is one, the underlying scard.Error.
var (
	// ErrNoReader: the named reader does not exist (any more), or PC/SC
	// reports no readers at all.
	ErrNoReader = errors.New("hwbridge: card reader not found")
	// ErrNoService: pcscd is not running or stopped while in use.
	ErrNoService = errors.New("hwbridge: PC/SC service not available")
	// ErrNoCard: no card is connected; call WaitForCard first.
	ErrNoCard = errors.New("hwbridge: no card in the reader")
	// ErrCardRemoved: the card was pulled out (or swapped) while a session
	// with it was open; the session is over, call WaitForCard again.
	ErrCardRemoved = errors.New("hwbridge: card removed")
	// ErrCardReset: another program reset the card; the application
	// selection and PIN status are lost. Call WaitForCard again.
	ErrCardReset = errors.New("hwbridge: card reset by another program")
	// ErrCardMute: a card is inserted but does not answer to reset
	// (inserted the wrong way round, damaged, not a chip card).
	ErrCardMute = errors.New("hwbridge: card does not respond")
	// ErrNotSocialSecurityCard: the card has no social-security application
	// (SELECT of the SSSE AID failed); a *StatusError with the SW is wrapped
	// as well.
	ErrNotSocialSecurityCard = errors.New("hwbridge: not a social-security card")
	// ErrMalformed: a response or TLV record is truncated or structurally
	// wrong (see *TLVError).
	ErrMalformed = errors.New("hwbridge: malformed card response")
	// ErrInvalidField: a record is well formed but its value is not valid
	// (bad check digit, impossible date, ...; see *FieldError).
	ErrInvalidField = errors.New("hwbridge: invalid card data")
	// ErrUnexpectedStatus is matched by every *StatusError.
	ErrUnexpectedStatus = errors.New("hwbridge: unexpected status word")
	// ErrPINRequired: the card refused access until the PIN is verified
	// (SW 6982). Matched by a *StatusError with that SW.
	ErrPINRequired = errors.New("hwbridge: PIN verification required")
	// ErrEmptyResponse: the reader reported success but returned no bytes,
	// as a crashed driver or card does. The connection is dropped.
	ErrEmptyResponse = errors.New("hwbridge: empty response from reader")
	// ErrTimeout: the context deadline passed (also wraps
	// context.DeadlineExceeded), including while a hung card did not answer
	// (the card session is then over), or PC/SC timed out.
	ErrTimeout = errors.New("hwbridge: timed out")
	// ErrInvalidPIN: the PIN text is not 4 to 12 digits of even count.
	ErrInvalidPIN = errors.New("hwbridge: PIN must be an even number (4-12) of digits")
	// ErrCardExpired is returned by Card.ValidAt after the expiry date.
	ErrCardExpired = errors.New("hwbridge: card expired")
	// ErrClosed: the Reader was closed.
	ErrClosed = errors.New("hwbridge: reader closed")
)

// StatusError is a status word the operation did not expect.
type StatusError struct {
	Op string // e.g. "READ RECORD EF05/3"
	SW uint16
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("hwbridge: %s: card answered SW %04X", e.Op, e.SW)
}

// Is makes a *StatusError match ErrUnexpectedStatus, and ErrPINRequired
// when the SW is 6982 (security status not satisfied).
func (e *StatusError) Is(target error) bool {
	return target == ErrUnexpectedStatus || (target == ErrPINRequired && e.SW == 0x6982)
}

// TLVError is a record that is not the single TLV expected. It never holds
// the record bytes: holder records are personal data.
type TLVError struct {
	File   string // "EF05" or "EF06"
	Tag    byte   // the tag expected
	Reason string
}

func (e *TLVError) Error() string {
	return fmt.Sprintf("hwbridge: %s tag %02X: %s", e.File, e.Tag, e.Reason)
}

func (e *TLVError) Is(target error) bool { return target == ErrMalformed }

// FieldError is a decoded value that fails validation. Reason never repeats
// the value of a holder field (personal data).
type FieldError struct {
	Field  string // e.g. "SSN", "ExpiryDate"
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("hwbridge: invalid %s: %s", e.Field, e.Reason)
}

func (e *FieldError) Is(target error) bool { return target == ErrInvalidField }
