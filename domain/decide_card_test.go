package domain

import "testing"

func TestHandoversFollowTheChainOfCustody(t *testing.T) {
	c := given(t, produced()).
		when(HandOverCard{CardNo: testCardNo, From: "vendor", To: "outlet-7", Handler: "wang"}).
		thenEvents(CardHandedOver{CardNo: testCardNo, From: "vendor", To: "outlet-7", Handler: "wang"})
	if c.Card.Custody != (Custody{At: "outlet-7", From: "vendor", Handler: "wang"}) || c.Status() != StatusProduced {
		t.Fatalf("card %+v", c.Card)
	}
	given(t, produced()).
		when(HandOverCard{CardNo: testCardNo, From: "outlet-7", To: "outlet-8", Handler: "wang"}).
		thenError(CodeCustodyMismatch)
	given(t, produced()).
		when(HandOverCard{CardNo: testCardNo, From: "vendor", To: "vendor", Handler: "wang"}).
		thenFieldError("to", CodeMismatch)
	given(t, produced()).
		when(HandOverCard{CardNo: testCardNo, From: "vendor", To: "outlet-7"}).
		thenFieldError("handler", CodeRequired)
}

func TestIssueSetsTenYearValidityInChinaTime(t *testing.T) {
	// 2024-02-29 20:00 UTC is already 1 March in China.
	on := testDayUTC(2024, 2, 29, 20)
	c := given(t, produced()).
		when(IssueCard{CardNo: testCardNo, On: on, Agency: "outlet-7"}).
		thenEvents(CardIssued{CardNo: testCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01", Agency: "outlet-7"})
	if c.Status() != StatusIssued || c.Card.Custody.At != CustodyHolder || c.Card.ExpiresOn != "2034-03-01" {
		t.Fatalf("card %+v", c.Card)
	}
	given(t, produced()).when(IssueCard{CardNo: testCardNo}).thenFieldError("on", CodeRequired)
}

func TestActivate(t *testing.T) {
	c := given(t, issued()).when(ActivateCard{CardNo: testCardNo}).thenEvents(CardActivated{CardNo: testCardNo})
	if c.Status() != StatusActive {
		t.Fatal(c.Status())
	}
}

func TestLossAndUnlockReturnToTheStatusBefore(t *testing.T) {
	for _, before := range []struct {
		name   string
		events []Event
		status CardStatus
	}{{"issued", issued(), StatusIssued}, {"active", active(), StatusActive}} {
		t.Run(before.name, func(t *testing.T) {
			c := given(t, before.events).when(ReportLoss{CardNo: testCardNo, Reason: "wallet stolen"}).
				thenEvents(CardReportedLost{CardNo: testCardNo, Reason: "wallet stolen"})
			if c.Status() != StatusLost || !c.Status().Blacklisted() {
				t.Fatal(c.Status())
			}
			c = given(t, before.events, []Event{CardReportedLost{CardNo: testCardNo}}).
				when(UnlockCard{CardNo: testCardNo, Reason: "found"}).
				thenEvents(CardUnlocked{CardNo: testCardNo, Lifted: StatusLost, Reason: "found"})
			if c.Status() != before.status {
				t.Fatalf("unlocked to %s", c.Status())
			}
			c = given(t, before.events).when(ReportTemporaryLoss{CardNo: testCardNo}).
				thenEvents(CardTemporarilyLost{CardNo: testCardNo})
			if c.Status() != StatusTemporarilyLost {
				t.Fatal(c.Status())
			}
			c = given(t, before.events, []Event{CardTemporarilyLost{CardNo: testCardNo}}).
				when(UnlockCard{CardNo: testCardNo}).
				thenEvents(CardUnlocked{CardNo: testCardNo, Lifted: StatusTemporarilyLost})
			if c.Status() != before.status {
				t.Fatalf("unlocked to %s", c.Status())
			}
		})
	}
}

func TestTemporaryLossCanBeConfirmedAsFormalLoss(t *testing.T) {
	c := given(t, temporarilyLost()).when(ReportLoss{CardNo: testCardNo}).
		thenEvents(CardReportedLost{CardNo: testCardNo})
	if c.Status() != StatusLost {
		t.Fatal(c.Status())
	}
	// Unlocking the formal loss still returns to the status before either loss.
	c = given(t, temporarilyLost(), []Event{CardReportedLost{CardNo: testCardNo}}).
		when(UnlockCard{CardNo: testCardNo}).
		thenEvents(CardUnlocked{CardNo: testCardNo, Lifted: StatusLost})
	if c.Status() != StatusActive {
		t.Fatal(c.Status())
	}
}

func TestCancelRecordsWhereFromAndRestoreGoesBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events []Event
		from   CardStatus
	}{
		{"issued", issued(), StatusIssued},
		{"active", active(), StatusActive},
		{"lost", lost(), StatusLost},
		{"temporarily_lost", temporarilyLost(), StatusTemporarilyLost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := given(t, tc.events).when(CancelCard{CardNo: testCardNo, Reason: "moving abroad"}).
				thenEvents(CardCancelled{CardNo: testCardNo, Cause: CauseRequest, From: tc.from, Reason: "moving abroad"})
			if c.Status() != StatusCancelled {
				t.Fatal(c.Status())
			}
			c = given(t, tc.events, []Event{CardCancelled{CardNo: testCardNo, Cause: CauseRequest, From: tc.from}}).
				when(RestoreCancellation{CardNo: testCardNo, Reason: "operator error"}).
				thenEvents(CardCancellationRestored{CardNo: testCardNo, To: tc.from, Reason: "operator error"})
			if c.Status() != tc.from || c.Card.Cancellation != nil {
				t.Fatalf("restored to %s", c.Status())
			}
		})
	}
}

func TestRestoredLossCanStillBeUnlocked(t *testing.T) {
	c := given(t, lost(), []Event{
		CardCancelled{CardNo: testCardNo, Cause: CauseOther, From: StatusLost},
		CardCancellationRestored{CardNo: testCardNo, To: StatusLost},
	}).when(UnlockCard{CardNo: testCardNo}).thenEvents(CardUnlocked{CardNo: testCardNo, Lifted: StatusLost})
	if c.Status() != StatusActive {
		t.Fatal(c.Status())
	}
}

func TestCancelCauses(t *testing.T) {
	given(t, active()).when(CancelCard{CardNo: testCardNo, Cause: CauseDeath}).
		thenEvents(CardCancelled{CardNo: testCardNo, Cause: CauseDeath, From: StatusActive})
	given(t, active()).when(CancelCard{CardNo: testCardNo, Cause: CauseReplacement}).
		thenFieldError("cause", CodeInvalidValue)
	given(t, active()).when(CancelCard{CardNo: testCardNo, Cause: "boredom"}).
		thenFieldError("cause", CodeInvalidValue)
}

func TestRestoringADeathCancellationRevivesTheHolder(t *testing.T) {
	dead := append(active(), CardCancelled{CardNo: testCardNo, Cause: CauseDeath, From: StatusActive})
	if !Replay(testHolderID, dead).Deceased {
		t.Fatal("not deceased")
	}
	c := given(t, dead).when(RestoreCancellation{CardNo: testCardNo}).
		thenEvents(CardCancellationRestored{CardNo: testCardNo, To: StatusActive})
	if c.Deceased || c.Status() != StatusActive {
		t.Fatalf("state %+v", c)
	}
}

func TestAReplacementCancellationCannotBeRestored(t *testing.T) {
	// Decide never leaves a replaced card current; a hand-made stream could.
	given(t, active(), []Event{CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive}}).
		when(RestoreCancellation{CardNo: testCardNo}).
		thenError(CodeRestoreNotAllowed)
}

func TestPINEventsAreFactsOnly(t *testing.T) {
	c := given(t, active()).when(ResetPIN{CardNo: testCardNo}).thenEvents(PINReset{CardNo: testCardNo})
	if c.Status() != StatusActive {
		t.Fatal(c.Status())
	}
	given(t, issued()).when(ChangePIN{CardNo: testCardNo}).thenEvents(PINChanged{CardNo: testCardNo})
}

func TestReplaceCancelsAndAppliesInOneDecision(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events []Event
		from   CardStatus
	}{
		{"issued", issued(), StatusIssued},
		{"active", active(), StatusActive},
		{"lost", lost(), StatusLost},
		{"temporarily_lost", temporarilyLost(), StatusTemporarilyLost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := given(t, withECard(tc.events)).
				when(ReplaceCard{CardNo: testCardNo, ApplicationID: "app-2", Source: SourceBank, BankCode: "105", Reason: "damaged"}).
				thenEvents(
					CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: tc.from, Reason: "damaged"},
					CardApplied{ApplicationID: "app-2", Source: SourceBank, Kind: Replacement, BankCode: "105", ReplacesCardNo: testCardNo},
					ECardCarriedOver{ApplicationID: "app-2", FromCardNo: testCardNo},
				)
			// The new card has the e-card, usable once that card is issued.
			if c.Status() != StatusApplied || c.Card.ReplacesCardNo != testCardNo || c.ECardUsable() || !c.Card.ECardIssued {
				t.Fatalf("card %+v", c.Card)
			}
			if len(c.PastCards) != 1 || c.PastCards[0].Status != StatusCancelled || c.PastCards[0].Cancellation.Cause != CauseReplacement {
				t.Fatalf("past %+v", c.PastCards)
			}
			// The old number is no longer the holder's card.
			given(t, tc.events, []Event{
				CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: tc.from},
				CardApplied{ApplicationID: "app-2", Source: SourceBank, Kind: Replacement, ReplacesCardNo: testCardNo},
			}).when(RestoreCancellation{CardNo: testCardNo}).thenError(CodeCardNotCurrent)
		})
	}
}

func TestReplaceACancelledCardOnlyApplies(t *testing.T) {
	given(t, cancelled()).
		when(ReplaceCard{CardNo: testCardNo, ApplicationID: "app-2", Source: SourceCounter}).
		thenEvents(CardApplied{ApplicationID: "app-2", Source: SourceCounter, Kind: Replacement, ReplacesCardNo: testCardNo})
	given(t, active(), []Event{CardCancelled{CardNo: testCardNo, Cause: CauseDeath, From: StatusActive}}).
		when(ReplaceCard{CardNo: testCardNo, ApplicationID: "app-2", Source: SourceCounter}).
		thenError(CodeCardholderDeceased)
}

func TestReplaceFieldRules(t *testing.T) {
	given(t, active()).when(ReplaceCard{CardNo: testCardNo, Source: SourceCounter}).thenFieldError("application_id", CodeRequired)
	given(t, active()).when(ReplaceCard{CardNo: testCardNo, ApplicationID: "app-2"}).thenFieldError("source", CodeRequired)
	given(t, active()).when(ReplaceCard{ApplicationID: "app-2", Source: SourceCounter}).thenFieldError("card_no", CodeRequired)
}

func TestTransferOutToAnotherCity(t *testing.T) {
	c := given(t, withECard(active())).when(TransferOut{CardNo: testCardNo, ToRegion: "330106", Reason: "new job"}).
		thenEvents(CardholderTransferredOut{CardNo: testCardNo, FromRegion: "320505", ToRegion: "330106", Reason: "new job"},
			ECardRevoked{CardNo: testCardNo, Cause: ECardCauseTransferred})
	if c.Status() != StatusTransferred || c.Card.TransferredTo != "330106" || c.ECardUsable() || c.Card.ECardIssued {
		t.Fatalf("card %+v", c.Card)
	}
	// Another district of 苏州 is not another city.
	given(t, active()).when(TransferOut{CardNo: testCardNo, ToRegion: "320583"}).thenError(CodeSamePrefecture)
	given(t, active()).when(TransferOut{CardNo: testCardNo, ToRegion: "320500"}).thenError(CodeSamePrefecture)
	given(t, active()).when(TransferOut{CardNo: testCardNo, ToRegion: "330006"}).thenFieldError("to_region", CodeInvalidRegionCode)
}

func TestECardFollowsThePhysicalCard(t *testing.T) {
	c := given(t, active()).when(IssueECard{CardNo: testCardNo}).thenEvents(ECardIssued{CardNo: testCardNo})
	if !c.ECardUsable() {
		t.Fatal("e-card not usable")
	}
	given(t, withECard(active())).when(IssueECard{CardNo: testCardNo}).thenError(CodeECardAlreadyIssued)
	for _, tc := range []struct {
		name   string
		then   Event
		usable bool
	}{
		{"lost", CardReportedLost{CardNo: testCardNo}, false},
		{"temporarily lost", CardTemporarilyLost{CardNo: testCardNo}, false},
		{"cancelled", CardCancelled{CardNo: testCardNo, Cause: CauseRequest, From: StatusActive}, false},
		{"pin changed", PINChanged{CardNo: testCardNo}, true},
	} {
		if got := Replay(testHolderID, append(withECard(active()), tc.then)).ECardUsable(); got != tc.usable {
			t.Errorf("%s: usable %v", tc.name, got)
		}
	}
	// Unlocking and restoring make it usable again without an e-card event.
	if !Replay(testHolderID, append(withECard(active()), CardReportedLost{CardNo: testCardNo}, CardUnlocked{CardNo: testCardNo, Lifted: StatusLost})).ECardUsable() {
		t.Error("unlocked: e-card unusable")
	}
	if !Replay(testHolderID, append(withECard(active()),
		CardCancelled{CardNo: testCardNo, Cause: CauseRequest, From: StatusActive},
		CardCancellationRestored{CardNo: testCardNo, To: StatusActive})).ECardUsable() {
		t.Error("restored: e-card unusable")
	}
}

func TestRevokeECard(t *testing.T) {
	c := given(t, withECard(active())).when(RevokeECard{CardNo: testCardNo, Cause: ECardCauseMisuse, Reason: "account taken over"}).
		thenEvents(ECardRevoked{CardNo: testCardNo, Cause: ECardCauseMisuse, Reason: "account taken over"})
	if c.ECardUsable() || c.Card.ECardIssued || c.Card.ECardRevokedCause != ECardCauseMisuse {
		t.Fatalf("card %+v", c.Card)
	}
	// Issuing again clears the cause.
	if c.Apply(ECardIssued{CardNo: testCardNo}); c.Card.ECardRevokedCause != "" {
		t.Fatalf("card %+v", c.Card)
	}
	// Revoking is allowed whatever the card's status; the cause defaults to
	// the holder's request.
	given(t, withECard(active()), []Event{CardReportedLost{CardNo: testCardNo}}).
		when(RevokeECard{CardNo: testCardNo}).thenEvents(ECardRevoked{CardNo: testCardNo, Cause: ECardCauseRequest})
}

func TestRevokeECardCause(t *testing.T) {
	given(t, withECard(active())).when(RevokeECard{CardNo: testCardNo, Cause: ECardCauseOther, Reason: "court order"}).
		thenEvents(ECardRevoked{CardNo: testCardNo, Cause: ECardCauseOther, Reason: "court order"})
	// Other says nothing without the reason.
	given(t, withECard(active())).when(RevokeECard{CardNo: testCardNo, Cause: ECardCauseOther, Reason: " "}).
		thenFieldError("reason", CodeRequired)
	// Unrecorded exists only for version 1 events.
	given(t, withECard(active())).when(RevokeECard{CardNo: testCardNo, Cause: ECardCauseUnrecorded}).
		thenFieldError("cause", CodeInvalidValue)
	given(t, withECard(active())).when(RevokeECard{CardNo: testCardNo, Cause: "lost"}).
		thenFieldError("cause", CodeInvalidValue)
}

func TestCardCommandsNameTheCurrentCard(t *testing.T) {
	given(t, active()).when(ActivateCard{CardNo: otherCardNo}).thenError(CodeCardNotCurrent)
	given(t, active()).when(ReportLoss{CardNo: ""}).thenFieldError("card_no", CodeRequired)
}

func TestInstantIssueFromNothing(t *testing.T) {
	cmd := InstantIssue{ApplicationID: "app-9", BankCode: testBank, AccountNo: testAccount, CardNo: testCardNo, ChipID: testChipID, On: testDay, Agency: "bank-branch-3"}
	c := given(t, registered()).when(cmd).thenEvents(
		CardApplied{ApplicationID: "app-9", Source: SourceBank, Kind: FirstIssue, BankCode: testBank},
		BankAccountOpened{ApplicationID: "app-9", BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: "app-9", CardNo: testCardNo},
		CardProduced{CardNo: testCardNo, ChipID: testChipID},
		CardIssued{CardNo: testCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01", Agency: "bank-branch-3"},
		CardActivated{CardNo: testCardNo},
	)
	if c.Status() != StatusActive || c.Card.ChipID != testChipID || c.Card.AccountNo != testAccount || c.Version != 7 {
		t.Fatalf("state %+v card %+v", c, c.Card)
	}
	cmd.ApplicationID = ""
	given(t, registered()).when(cmd).thenFieldError("application_id", CodeRequired)
}

func TestInstantIssueContinuesAPendingApplication(t *testing.T) {
	cmd := InstantIssue{BankCode: testBank, AccountNo: testAccount, CardNo: testCardNo, ChipID: testChipID, On: testDay}
	tail := []Event{
		CardProduced{CardNo: testCardNo, ChipID: testChipID},
		CardIssued{CardNo: testCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01"},
		CardActivated{CardNo: testCardNo},
	}
	given(t, applied()).when(cmd).thenEvents(append([]Event{
		BankAccountOpened{ApplicationID: testApp, BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: testApp, CardNo: testCardNo},
	}, tail...)...)
	given(t, accountOpened()).when(cmd).thenEvents(tail...)
	failed := append(accountOpened(), CardProductionFailed{CardNo: testCardNo, Reason: "r"})
	given(t, failed).when(cmd).thenEvents(tail...)

	other := cmd
	other.CardNo = otherCardNo
	given(t, accountOpened()).when(other).thenError(CodeCardNumberMismatch)
	other = cmd
	other.AccountNo = "6222029999999999"
	given(t, accountOpened()).when(other).thenError(CodeAccountAlreadyOpen)
}

func TestInstantIssueAfterCancellationReplacesTheOldCard(t *testing.T) {
	cmd := InstantIssue{ApplicationID: "app-2", BankCode: testBank, AccountNo: testAccount, CardNo: otherCardNo, ChipID: testChipID, On: testDay}
	c := given(t, cancelled()).when(cmd).thenEvents(
		CardApplied{ApplicationID: "app-2", Source: SourceBank, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		BankAccountOpened{ApplicationID: "app-2", BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: "app-2", CardNo: otherCardNo},
		CardProduced{CardNo: otherCardNo, ChipID: testChipID},
		CardIssued{CardNo: otherCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01"},
		CardActivated{CardNo: otherCardNo},
	)
	if c.Card.CardNo != otherCardNo || len(c.PastCards) != 1 {
		t.Fatalf("state %+v", c)
	}
}

func TestApplyIgnoresEventsForOtherCards(t *testing.T) {
	c := Replay(testHolderID, append(active(), CardReportedLost{CardNo: otherCardNo}))
	if c.Status() != StatusActive || c.Version != len(active())+1 {
		t.Fatalf("status %s version %d", c.Status(), c.Version)
	}
}
