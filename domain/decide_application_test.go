package domain

import "testing"

func TestApplyForAFirstCard(t *testing.T) {
	c := given(t, withPhoto(registered())).
		when(ApplyForCard{ApplicationID: testApp, Source: SourceOnline, BankCode: testBank, PhotoRef: testPhoto.Ref}).
		thenEvents(CardApplied{ApplicationID: testApp, Source: SourceOnline, Kind: FirstIssue, BankCode: testBank, PhotoRef: testPhoto.Ref})
	if c.Status() != StatusApplied || c.Card.ApplicationID != testApp {
		t.Fatalf("card %+v", c.Card)
	}
}

func TestApplyAfterCancellationIsAReplacementOfTheCancelledCard(t *testing.T) {
	c := given(t, cancelled()).
		when(ApplyForCard{ApplicationID: "app-2", Source: SourceCounter}).
		thenEvents(CardApplied{ApplicationID: "app-2", Source: SourceCounter, Kind: Replacement, ReplacesCardNo: testCardNo})
	if len(c.PastCards) != 1 || c.PastCards[0].Status != StatusCancelled || c.Card.CardNo != "" {
		t.Fatalf("state %+v", c)
	}
}

func TestApplyIsRefusedAfterDeath(t *testing.T) {
	given(t, active(), []Event{CardCancelled{CardNo: testCardNo, Cause: CauseDeath, From: StatusActive}}).
		when(ApplyForCard{ApplicationID: "app-2", Source: SourceCounter}).
		thenError(CodeCardholderDeceased)
}

func TestApplyFieldRules(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cmd   ApplyForCard
		field string
		code  string
	}{
		{"application id required", ApplyForCard{Source: SourceCounter}, "application_id", CodeRequired},
		{"source required", ApplyForCard{ApplicationID: testApp}, "source", CodeRequired},
		{"source unknown", ApplyForCard{ApplicationID: testApp, Source: "fax"}, "source", CodeInvalidValue},
		{"bank applications name the bank", ApplyForCard{ApplicationID: testApp, Source: SourceBank}, "bank_code", CodeRequired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			given(t, registered()).when(tc.cmd).thenFieldError(tc.field, tc.code)
		})
	}
}

func TestBankOpensTheAccount(t *testing.T) {
	c := given(t, applied()).
		when(OpenBankAccount{BankCode: "105", AccountNo: testAccount}).
		thenEvents(BankAccountOpened{ApplicationID: testApp, BankCode: "105", AccountNo: testAccount})
	if c.Status() != StatusAccountOpened || c.Card.BankCode != "105" || c.Card.AccountNo != testAccount {
		t.Fatalf("card %+v", c.Card)
	}
}

func TestBankRefusalKeepsTheApplicationPendingWithTheReason(t *testing.T) {
	c := given(t, applied()).
		when(RefuseBankAccount{BankCode: testBank, Reason: "identity not verified"}).
		thenEvents(BankAccountRefused{ApplicationID: testApp, BankCode: testBank, Reason: "identity not verified"})
	if c.Status() != StatusApplied || c.Card.LastFailure != "identity not verified" {
		t.Fatalf("card %+v", c.Card)
	}
	// Another bank may then open it, which clears the failure.
	c = given(t, applied(), []Event{BankAccountRefused{ApplicationID: testApp, BankCode: testBank, Reason: "r"}}).
		when(OpenBankAccount{BankCode: "105", AccountNo: testAccount}).
		thenEvents(BankAccountOpened{ApplicationID: testApp, BankCode: "105", AccountNo: testAccount})
	if c.Card.LastFailure != "" {
		t.Fatalf("failure kept: %+v", c.Card)
	}
}

func TestAccountFieldRules(t *testing.T) {
	given(t, applied()).when(OpenBankAccount{AccountNo: testAccount}).thenFieldError("bank_code", CodeRequired)
	given(t, applied()).when(OpenBankAccount{BankCode: testBank}).thenFieldError("account_no", CodeRequired)
	given(t, applied()).when(OpenBankAccount{BankCode: testBank, AccountNo: "1234567"}).thenFieldError("account_no", CodeInvalidValue)
	given(t, applied()).when(OpenBankAccount{BankCode: testBank, AccountNo: "12345678x"}).thenFieldError("account_no", CodeInvalidValue)
	given(t, applied()).when(RefuseBankAccount{BankCode: testBank}).thenFieldError("reason", CodeRequired)
}

func TestCardNumberCanBeAssignedBeforeOrAfterTheAccount(t *testing.T) {
	c := given(t, applied()).
		when(AssignCardNumber{CardNo: testCardNo}).
		thenEvents(CardNumberAssigned{ApplicationID: testApp, CardNo: testCardNo})
	if c.Status() != StatusApplied || c.Card.CardNo != testCardNo {
		t.Fatalf("card %+v", c.Card)
	}
	given(t, applied(), []Event{BankAccountOpened{ApplicationID: testApp, BankCode: testBank, AccountNo: testAccount}}).
		when(AssignCardNumber{CardNo: testCardNo}).
		thenEvents(CardNumberAssigned{ApplicationID: testApp, CardNo: testCardNo})
	given(t, applied()).when(AssignCardNumber{CardNo: "a12345678"}).thenFieldError("card_no", CodeInvalidCardNo)
}

func TestProduction(t *testing.T) {
	c := given(t, accountOpened()).
		when(RecordProduction{CardNo: testCardNo, ChipID: testChipID, Vendor: "acme"}).
		thenEvents(CardProduced{CardNo: testCardNo, ChipID: testChipID, Vendor: "acme"})
	if c.Status() != StatusProduced || c.Card.ChipID != testChipID || c.Card.Custody.At != "vendor" {
		t.Fatalf("card %+v", c.Card)
	}
}

func TestProductionNeedsTheAccount(t *testing.T) {
	given(t, applied(), []Event{CardNumberAssigned{ApplicationID: testApp, CardNo: testCardNo}}).
		when(RecordProduction{CardNo: testCardNo, ChipID: testChipID}).
		thenError(CodeNotReadyForProduction)
}

func TestProductionNamesTheAssignedNumber(t *testing.T) {
	given(t, accountOpened()).
		when(RecordProduction{CardNo: otherCardNo, ChipID: testChipID}).
		thenError(CodeCardNotCurrent)
	given(t, accountOpened()).
		when(RecordProduction{CardNo: testCardNo, ChipID: "xyz"}).
		thenFieldError("chip_id", CodeInvalidChipID)
}

func TestProductionFailureGoesBackToAppliedKeepingNumberAndAccount(t *testing.T) {
	c := given(t, accountOpened()).
		when(RecordProductionFailure{CardNo: testCardNo, Reason: "photo unusable"}).
		thenEvents(CardProductionFailed{CardNo: testCardNo, Reason: "photo unusable"})
	if c.Status() != StatusApplied || c.Card.CardNo != testCardNo || c.Card.AccountNo != testAccount || c.Card.LastFailure != "photo unusable" {
		t.Fatalf("card %+v", c.Card)
	}
	failed := append(accountOpened(), CardProductionFailed{CardNo: testCardNo, Reason: "photo unusable"})
	// The retry produces the same number; account and number are not redone.
	c = given(t, failed).
		when(RecordProduction{CardNo: testCardNo, ChipID: testChipID}).
		thenEvents(CardProduced{CardNo: testCardNo, ChipID: testChipID})
	if c.Card.LastFailure != "" {
		t.Fatalf("failure kept: %+v", c.Card)
	}
	given(t, failed).when(OpenBankAccount{BankCode: testBank, AccountNo: testAccount}).thenError(CodeAccountAlreadyOpen)
	given(t, failed).when(AssignCardNumber{CardNo: otherCardNo}).thenError(CodeCardNumberAssigned)
	given(t, failed).when(ApplyForCard{ApplicationID: "app-2", Source: SourceCounter}).thenError(CodeValidCardExists)
}
