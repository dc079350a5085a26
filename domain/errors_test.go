package domain

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorsAreMatchedByCodeAndKind(t *testing.T) {
	err := fmt.Errorf("handle: %w", InvalidTransition(StatusLost, "activate_card"))
	if !errors.Is(err, &Error{Code: CodeInvalidTransition}) || !errors.Is(err, &Error{Kind: KindConflict}) {
		t.Fatal("not matched")
	}
	if errors.Is(err, &Error{Code: CodeCardNotFound}) || errors.Is(err, &Error{Kind: KindInvalid}) {
		t.Fatal("matched the wrong code or kind")
	}
	if !HasCode(err, CodeInvalidTransition) || KindOf(err) != KindConflict {
		t.Fatal("helpers")
	}
	e, ok := AsError(err)
	if !ok || e.From != StatusLost || e.Command != "activate_card" {
		t.Fatalf("%+v", e)
	}
	if KindOf(errors.New("plain")) != "" || HasCode(nil, CodeCardNotFound) {
		t.Fatal("plain errors have no kind")
	}
	want := "invalid_command: invalid command; name: required"
	if got := Invalid(FieldError{Field: "name", Code: CodeRequired}).Error(); got != want {
		t.Fatalf("got %q", got)
	}
}
