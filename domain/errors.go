package domain

import (
	"errors"
	"fmt"
	"strings"
)

// ErrorKind is the closed set of ways a command can be refused. Adapters map
// it to their transport: KindInvalid → HTTP 400, KindConflict → 409,
// KindNotFound → 404.
type ErrorKind string

const (
	KindInvalid  ErrorKind = "invalid"   // the command itself is malformed
	KindConflict ErrorKind = "conflict"  // a business rule forbids it in the current state
	KindNotFound ErrorKind = "not_found" // the cardholder or card it names does not exist (or is not current)
)

// Stable machine-readable codes. Clients branch on these; never change one.
const (
	// Command-level codes.
	CodeInvalidCommand        = "invalid_command"        // KindInvalid, details in Fields
	CodeUnknownCommand        = "unknown_command"        // KindInvalid
	CodeAlreadyRegistered     = "already_registered"     // KindConflict
	CodeCardholderNotFound    = "cardholder_not_found"   // KindNotFound: no cardholder registered with this id
	CodeCardNotFound          = "card_not_found"         // KindNotFound: no card with this number was ever assigned
	CodeCardNotCurrent        = "card_not_current"       // KindNotFound: card_no is not this holder's current card
	CodeInvalidTransition     = "invalid_transition"     // KindConflict: From and Command say which
	CodeValidCardExists       = "valid_card_exists"      // KindConflict: at most one valid card per person
	CodeNoPendingApplication  = "no_pending_application" // KindConflict
	CodeAccountAlreadyOpen    = "account_already_open"   // KindConflict
	CodeCardNumberAssigned    = "card_number_already_assigned"
	CodeCardNumberMismatch    = "card_number_mismatch"     // KindConflict: a different number is already assigned
	CodeNotReadyForProduction = "not_ready_for_production" // KindConflict: needs account and card number
	CodeCustodyMismatch       = "custody_mismatch"         // KindConflict: handover From is not where the card is
	CodeRestoreNotAllowed     = "restore_not_allowed"      // KindConflict
	CodeSamePrefecture        = "same_prefecture"          // KindConflict: transfer target inside the holder's city
	CodeTransferredOut        = "transferred_out"          // KindConflict: the holder's card lives in another city now
	CodeCardholderDeceased    = "cardholder_deceased"      // KindConflict
	CodeECardAlreadyIssued    = "ecard_already_issued"     // KindConflict
	CodeNoECard               = "no_ecard"                 // KindConflict
	CodeCardNotActive         = "card_not_active"          // KindConflict: e-card needs an active card

	// Field-level codes (FieldError.Code).
	CodeRequired          = "required"
	CodeTooLong           = "too_long"
	CodeInvalidIDNumber   = "invalid_id_number"
	CodeInvalidRegionCode = "invalid_region_code"
	CodeInvalidCardNo     = "invalid_card_no"
	CodeInvalidChipID     = "invalid_chip_id"
	CodeInvalidPhone      = "invalid_phone"
	CodeInvalidValue      = "invalid_value" // not one of an enum's values, or malformed
	CodeSexMismatch       = "sex_mismatch"  // sex contradicts the ID number
	CodeMismatch          = "mismatch"      // contradicts another value the command or state fixes
)

// Error is a refused command. Use errors.As to get it; compare Code, not Message.
type Error struct {
	Kind    ErrorKind    `json:"kind"`
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields,omitempty"`
	// From and Command are set for CodeInvalidTransition.
	From    CardStatus `json:"from,omitempty"`
	Command string     `json:"command,omitempty"`
}

// FieldError says what is wrong with one command field.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, "; %s: %s", f.Field, f.Code)
	}
	return b.String()
}

// Is makes errors.Is(err, &Error{Code: c}) match any *Error with code c, and
// errors.Is(err, &Error{Kind: k}) match any of kind k.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return (t.Code == "" || t.Code == e.Code) && (t.Kind == "" || t.Kind == e.Kind)
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// HasCode reports whether err is (or wraps) an *Error with the given code.
func HasCode(err error, code string) bool {
	e, ok := AsError(err)
	return ok && e.Code == code
}

// KindOf returns the kind of the *Error in err's chain, or "" if there is none.
func KindOf(err error) ErrorKind {
	if e, ok := AsError(err); ok {
		return e.Kind
	}
	return ""
}

// Invalid builds a KindInvalid error from field errors.
func Invalid(fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: CodeInvalidCommand, Message: "invalid command", Fields: fields}
}

// Conflict builds a KindConflict error.
func Conflict(code, format string, args ...any) *Error {
	return &Error{Kind: KindConflict, Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound builds a KindNotFound error.
func NotFound(code, format string, args ...any) *Error {
	return &Error{Kind: KindNotFound, Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidTransition refuses command in status from.
func InvalidTransition(from CardStatus, command string) *Error {
	shown := string(from)
	if from == StatusNone {
		shown = "none"
	}
	return &Error{
		Kind:    KindConflict,
		Code:    CodeInvalidTransition,
		Message: fmt.Sprintf("%s is not allowed when the card is %s", command, shown),
		From:    from,
		Command: command,
	}
}
