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

// TestMissingThingsHaveTheirOwnCodes pins the wire codes of the two "not
// there" refusals, which the read side answers with too: an unregistered
// holder is cardholder_not_found (as GET /v1/cardholders/{id} says), and a
// card number that is not the holder's current card is card_not_current,
// not card_not_found (which says no card with that number exists at all).
func TestMissingThingsHaveTheirOwnCodes(t *testing.T) {
	e := given(t).when(ActivateCard{CardNo: testCardNo}).thenError("cardholder_not_found")
	if e.Kind != KindNotFound {
		t.Errorf("cardholder_not_found kind %s", e.Kind)
	}
	e = given(t, active()).when(ActivateCard{CardNo: otherCardNo}).thenError("card_not_current")
	if e.Kind != KindNotFound {
		t.Errorf("card_not_current kind %s", e.Kind)
	}
}
