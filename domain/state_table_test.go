package domain

import (
	"testing"
)

// TestStateTable checks every command against every status: "ok" means the
// command is accepted, anything else is the refusal code. It is the table in
// doc.go, executable.
func TestStateTable(t *testing.T) {
	histories := []struct {
		name   string
		events []Event
	}{
		{"unregistered", nil},
		{"none", registered()},
		{"applied", applied()},
		{"account_opened", accountOpened()},
		{"produced", produced()},
		{"issued", issued()},
		{"active", active()},
		{"lost", lost()},
		{"temporarily_lost", temporarilyLost()},
		{"cancelled", cancelled()},
		{"transferred", transferred()},
	}
	const (
		ok  = "ok"
		nr  = CodeCardholderNotFound
		cnc = CodeCardNotCurrent
		it  = CodeInvalidTransition
		vce = CodeValidCardExists
		npa = CodeNoPendingApplication
		aao = CodeAccountAlreadyOpen
		tro = CodeTransferredOut
		cna = CodeCardNotActive
		enb = CodeECardNotBound
		pnc = CodePhotoNotCollected
	)
	rows := []struct {
		cmd  CardholderCommand
		want [11]string // in the order of histories
	}{
		{RegisterCardholder{CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三", Nationality: "CHN", RegionCode: "320505"},
			[11]string{ok, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered}},
		{ApplyForCard{ApplicationID: "app-2", Source: SourceOnline},
			[11]string{nr, ok, vce, vce, vce, vce, vce, vce, vce, ok, tro}},
		{OpenBankAccount{BankCode: testBank, AccountNo: testAccount},
			[11]string{nr, npa, ok, aao, npa, npa, npa, npa, npa, npa, npa}},
		{RefuseBankAccount{BankCode: testBank, Reason: "blacklisted"},
			[11]string{nr, npa, ok, aao, npa, npa, npa, npa, npa, npa, npa}},
		{AssignCardNumber{CardNo: otherCardNo},
			[11]string{nr, npa, ok, CodeCardNumberAssigned, npa, npa, npa, npa, npa, npa, npa}},
		{RecordProduction{CardNo: testCardNo, ChipID: testChipID},
			[11]string{nr, cnc, cnc, ok, it, it, it, it, it, it, it}},
		{RecordProductionFailure{CardNo: testCardNo, Reason: "chip write error"},
			[11]string{nr, cnc, cnc, ok, it, it, it, it, it, it, it}},
		{HandOverCard{CardNo: testCardNo, From: "vendor", To: "outlet-1", Handler: "li"},
			[11]string{nr, cnc, cnc, it, ok, it, it, it, it, it, it}},
		{IssueCard{CardNo: testCardNo, On: testDay},
			[11]string{nr, cnc, cnc, it, ok, it, it, it, it, it, it}},
		{ActivateCard{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, it, it, ok, it, it, it, it, it}},
		{ReportLoss{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, it, it, ok, ok, it, ok, it, it}},
		{ReportTemporaryLoss{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, it, it, ok, ok, it, it, it, it}},
		{UnlockCard{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, it, it, it, it, ok, ok, it, it}},
		{CancelCard{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, it, it, ok, ok, ok, ok, it, it}},
		{RestoreCancellation{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, it, it, it, it, it, it, ok, it}},
		{ResetPIN{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, it, it, ok, ok, it, it, it, it}},
		{ChangePIN{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, it, it, ok, ok, it, it, it, it}},
		{ReplaceCard{CardNo: testCardNo, ApplicationID: "app-2", Source: SourceCounter},
			[11]string{nr, cnc, cnc, it, it, ok, ok, ok, ok, ok, it}},
		{TransferOut{CardNo: testCardNo, ToRegion: "110105"},
			[11]string{nr, cnc, cnc, it, it, ok, ok, it, it, it, it}},
		{IssueECard{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, CodeCardNotActive, CodeCardNotActive, CodeCardNotActive, ok, CodeCardNotActive, CodeCardNotActive, CodeCardNotActive, CodeCardNotActive}},
		{RevokeECard{CardNo: testCardNo},
			[11]string{nr, cnc, cnc, CodeNoECard, CodeNoECard, CodeNoECard, CodeNoECard, CodeNoECard, CodeNoECard, CodeNoECard, CodeNoECard}},
		{InstantIssue{ApplicationID: "app-2", BankCode: testBank, AccountNo: testAccount, CardNo: testCardNo, ChipID: testChipID, On: testDay},
			[11]string{nr, ok, ok, ok, it, vce, vce, vce, vce, ok, tro}},
		{BindECardChannel{Channel: "rsapp", IDNumber: testIDNumber, Name: "张三"},
			[11]string{nr, cna, cna, cna, cna, cna, ok, cna, cna, cna, cna}},
		{UnbindECardChannel{Channel: "rsapp"},
			[11]string{nr, enb, enb, enb, enb, enb, enb, enb, enb, enb, enb}},
		{GrantConsent{Channel: "rsapp", Scopes: []ConsentScope{ConsentIdentity}, At: testDay},
			[11]string{nr, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		{RevokeConsent{Channel: "rsapp"},
			[11]string{nr, CodeNoConsent, CodeNoConsent, CodeNoConsent, CodeNoConsent, CodeNoConsent, CodeNoConsent, CodeNoConsent, CodeNoConsent, CodeNoConsent, CodeNoConsent}},
		{RequestCancellation{CardNo: testCardNo, Channel: "rsapp"},
			[11]string{nr, cnc, cnc, it, it, ok, ok, ok, ok, it, it}},
		{ChangePhone{Phone: "13900139000", Channel: "rsapp"},
			[11]string{nr, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		{ApplyThroughChannel{ApplicationID: "app-2", Channel: "rsapp"},
			[11]string{nr, CodeNoBankToRoute, vce, vce, vce, vce, vce, ok, ok, ok, tro}},
		{CorrectPersonalData{Field: CorrectName, Value: "张叁", Reason: "typo at registration"},
			[11]string{nr, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		{CorrectPersonalData{Field: CorrectPhotoRef, Value: testPhoto.Ref, Reason: "wrong photo"},
			[11]string{nr, CodeNoCardForPhoto, pnc, pnc, pnc, pnc, pnc, pnc, pnc, pnc, pnc}},
		{CorrectPersonalData{Field: CorrectEmail, Value: "zhangsan@mail.example.cn", Reason: "实名邮箱"},
			[11]string{nr, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		{SetNotificationPreferences{SMSOptOut: true},
			[11]string{nr, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		{CollectPhoto{Photo: testPhoto},
			[11]string{nr, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		{MoveIdentity{NewCardholderID: "fedcba9876543210fedcba9876543210", Reason: "ID number changed"},
			[11]string{nr, ok, it, it, it, ok, ok, ok, ok, ok, tro}},
		{RaiseECardRiskAlert{CardNo: testCardNo, FirstRegion: "320505", SecondRegion: "110105", FirstAt: testDay, SecondAt: testDay},
			[11]string{nr, ok, ok, ok, ok, ok, ok, ok, ok, ok, ok}},
		{TransferIn{Card: ProvincialCard{CardNo: otherCardNo, Region: "110105", Status: StatusActive}},
			[11]string{nr, ok, vce, vce, vce, vce, vce, vce, vce, ok, ok}},
		{CancelProvincialRecord{CardNo: testCardNo, Reason: "card destroyed"},
			[11]string{nr, CodeCardNotFound, CodeCardNotFound, CodeCardStillValid, CodeCardStillValid, CodeCardStillValid, CodeCardStillValid, CodeCardStillValid, CodeCardStillValid, ok, tro}},
		{migrateCmd(),
			[11]string{ok, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered, CodeAlreadyRegistered}},
	}
	for _, row := range rows {
		for i, h := range histories {
			t.Run(row.cmd.CommandName()+"/"+h.name, func(t *testing.T) {
				c := Replay(testHolderID, h.events)
				events, err := Decide(c, row.cmd)
				got := ok
				if err != nil {
					e, isDomain := AsError(err)
					if !isDomain {
						t.Fatalf("want *Error, got %T: %v", err, err)
					}
					got = e.Code
				} else if len(events) == 0 {
					t.Fatal("accepted without events")
				}
				if got != row.want[i] {
					t.Fatalf("got %s, want %s (err %v)", got, row.want[i], err)
				}
			})
		}
	}
}

// The status each history leaves the card in, so the table above means what
// its column names say.
func TestHistoriesReachTheirStatus(t *testing.T) {
	for _, tc := range []struct {
		events []Event
		want   CardStatus
	}{
		{registered(), StatusNone},
		{applied(), StatusApplied},
		{accountOpened(), StatusAccountOpened},
		{produced(), StatusProduced},
		{issued(), StatusIssued},
		{active(), StatusActive},
		{lost(), StatusLost},
		{temporarilyLost(), StatusTemporarilyLost},
		{cancelled(), StatusCancelled},
		{transferred(), StatusTransferred},
	} {
		if got := Replay(testHolderID, tc.events).Status(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}

// Refusals by kind: the HTTP layer maps them to 400, 404 and 409.
func TestErrorKinds(t *testing.T) {
	e := given(t).when(ActivateCard{CardNo: testCardNo}).thenError(CodeCardholderNotFound)
	if e.Kind != KindNotFound {
		t.Errorf("cardholder_not_found kind %s", e.Kind)
	}
	e = given(t, registered()).when(ActivateCard{CardNo: testCardNo}).thenError(CodeCardNotCurrent)
	if e.Kind != KindNotFound {
		t.Errorf("card_not_current kind %s", e.Kind)
	}
	e = given(t, active()).when(ActivateCard{CardNo: testCardNo}).thenError(CodeInvalidTransition)
	if e.Kind != KindConflict || e.From != StatusActive || e.Command != "activate_card" {
		t.Errorf("invalid_transition: %+v", e)
	}
	e = given(t, active()).when(ActivateCard{CardNo: "bad"}).thenError(CodeInvalidCommand)
	if e.Kind != KindInvalid {
		t.Errorf("invalid_command kind %s", e.Kind)
	}
}
