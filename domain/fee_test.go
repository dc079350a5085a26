package domain

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The holder (born 1990-03-07) replaces the card on testDay (2024-03-01).
var testSchedule = FeeSchedule{AmountFen: 2000, ElderlyAge: 70,
	Exemptions: []FeeExemption{FeeExemptElderly, FeeExemptHardship, FeeExemptCardDefect}}

const feeApp = "app-2"

func replaceWithFee(claim FeeExemption) ReplaceCard {
	return ReplaceCard{CardNo: testCardNo, ApplicationID: feeApp, Source: SourceCounter, BankCode: testBank,
		Fee: &ReplacementFee{Schedule: testSchedule, Claim: claim, On: testDay}}
}

func replacedWithFee(e FeeExemption) []Event {
	return append(active(),
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, Exemption: e, AssessedOn: "2024-03-01"})
}

func TestReplacementRecordsItsFeeRightAfterTheApplication(t *testing.T) {
	c := given(t, active()).when(replaceWithFee("")).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, AssessedOn: "2024-03-01"},
	)
	require.True(t, c.Card.Fee.Due())
}

func TestReplacementWithoutAScheduleRecordsNoFee(t *testing.T) {
	given(t, active()).when(ReplaceCard{CardNo: testCardNo, ApplicationID: feeApp, Source: SourceCounter, BankCode: testBank}).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
	)
	free := replaceWithFee(FeeExemptHardship)
	free.Fee.Schedule.AmountFen = 0
	given(t, active()).when(free).thenError(CodeNoFeeDue)
}

func TestAReplacementOfACancelledCardAlsoPays(t *testing.T) {
	given(t, cancelled()).when(replaceWithFee("")).thenEvents(
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, AssessedOn: "2024-03-01"},
	)
}

func TestTheElderlyAreExemptedWithoutAClaim(t *testing.T) {
	old := func(birth string) []Event {
		h := active()
		r := h[0].(CardholderRegistered)
		r.BirthDate = birth
		h[0] = r
		return h
	}
	// 70 on 2024-03-01 exactly: exempted; one day short: pays, and claiming is refused.
	given(t, old("1954-03-01")).when(replaceWithFee("")).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, Exemption: FeeExemptElderly, AssessedOn: "2024-03-01"},
	)
	given(t, old("1954-03-02")).when(replaceWithFee(FeeExemptElderly)).thenError(CodeFeeExemptionRefused)
	noElderly := replaceWithFee("")
	noElderly.Fee.Schedule.Exemptions = []FeeExemption{FeeExemptHardship}
	c := given(t, old("1930-01-01")).when(noElderly).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, AssessedOn: "2024-03-01"},
	)
	require.True(t, c.Card.Fee.Due(), "a city without the elderly exemption charges everyone")
}

func TestHardshipIsExemptedOnTheCountersClaim(t *testing.T) {
	c := given(t, active()).when(replaceWithFee(FeeExemptHardship)).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, Exemption: FeeExemptHardship, AssessedOn: "2024-03-01"},
	)
	require.False(t, c.Card.Fee.Due())
	given(t, active()).when(replaceWithFee("poverty")).thenFieldError("fee_exemption", CodeInvalidValue)
	notGranted := replaceWithFee(FeeExemptHardship)
	notGranted.Fee.Schedule.Exemptions = nil
	given(t, active()).when(notGranted).thenFieldError("fee_exemption", CodeInvalidValue)
}

func TestACardDefectIsFreeOncePerHolder(t *testing.T) {
	history := append(replacedWithFee(FeeExemptCardDefect),
		CardNumberAssigned{ApplicationID: feeApp, CardNo: otherCardNo},
		BankAccountOpened{ApplicationID: feeApp, BankCode: testBank, AccountNo: testAccount},
		CardProduced{CardNo: otherCardNo, ChipID: testChipID, Vendor: "acme"},
		CardIssued{CardNo: otherCardNo, IssuedOn: "2024-03-10", ExpiresOn: "2034-03-10"},
		CardActivated{CardNo: otherCardNo})
	again := replaceWithFee(FeeExemptCardDefect)
	again.CardNo, again.ApplicationID = otherCardNo, "app-3"
	given(t, history).when(again).thenError(CodeFeeExemptionRefused)
	given(t, active()).when(replaceWithFee(FeeExemptCardDefect)).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, Exemption: FeeExemptCardDefect, AssessedOn: "2024-03-01"},
	)
}

func TestAnUnpaidFeeHoldsProductionAndInstantIssue(t *testing.T) {
	ready := append(replacedWithFee(""),
		BankAccountOpened{ApplicationID: feeApp, BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: feeApp, CardNo: otherCardNo})
	given(t, ready).when(RecordProduction{CardNo: otherCardNo, ChipID: testChipID, Vendor: "acme"}).thenError(CodeReplacementFeeUnpaid)
	given(t, ready).when(InstantIssue{BankCode: testBank, AccountNo: testAccount, CardNo: otherCardNo, ChipID: testChipID, On: testDay}).
		thenError(CodeReplacementFeeUnpaid)
	paid := append(ready, ReplacementFeePaid{ApplicationID: feeApp, PaymentID: "pos-1", AmountFen: 2000, PaidAt: testDay.UTC()})
	given(t, paid).when(RecordProduction{CardNo: otherCardNo, ChipID: testChipID, Vendor: "acme"}).
		thenEvents(CardProduced{CardNo: otherCardNo, ChipID: testChipID, Vendor: "acme"})
	exempt := append(replacedWithFee(FeeExemptHardship),
		BankAccountOpened{ApplicationID: feeApp, BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: feeApp, CardNo: otherCardNo})
	given(t, exempt).when(RecordProduction{CardNo: otherCardNo, ChipID: testChipID, Vendor: "acme"}).
		thenEvents(CardProduced{CardNo: otherCardNo, ChipID: testChipID, Vendor: "acme"})
}

func TestAFeePaymentIsRecordedOnceAndOnlyForTheFee(t *testing.T) {
	at := time.Date(2024, 3, 1, 3, 0, 0, 0, time.UTC)
	pay := RecordFeePayment{ApplicationID: feeApp, PaymentID: "pos-1", AmountFen: 2000, Terminal: "sg-fs-01", PaidAt: at}
	c := given(t, replacedWithFee("")).when(pay).
		thenEvents(ReplacementFeePaid{ApplicationID: feeApp, PaymentID: "pos-1", AmountFen: 2000, Terminal: "sg-fs-01", PaidAt: at})
	require.False(t, c.Card.Fee.Due())
	paid := append(replacedWithFee(""), ReplacementFeePaid{ApplicationID: feeApp, PaymentID: "pos-1", AmountFen: 2000, PaidAt: at})
	second := pay
	second.PaymentID = "pos-2"
	given(t, paid).when(second).thenError(CodeFeeAlreadyPaid)
	short := pay
	short.AmountFen = 1000
	given(t, replacedWithFee("")).when(short).thenError(CodeFeeAmountMismatch)
	given(t, replacedWithFee(FeeExemptHardship)).when(pay).thenError(CodeNoFeeDue)
	given(t, active()).when(pay).thenError(CodeFeeNotFound)
	other := pay
	other.ApplicationID = testApp
	given(t, applied()).when(other).thenError(CodeNoFeeDue)
	given(t, replacedWithFee("")).when(RecordFeePayment{ApplicationID: feeApp}).thenFieldError("payment_id", CodeRequired)
}

// Streams written before fees replay as before: no Fee, nothing held.
func TestAReplacementStoredBeforeFeesIsNotHeld(t *testing.T) {
	old := append(active(),
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		BankAccountOpened{ApplicationID: feeApp, BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: feeApp, CardNo: otherCardNo})
	c := given(t, old).when(RecordProduction{CardNo: otherCardNo, ChipID: testChipID, Vendor: "acme"}).
		thenEvents(CardProduced{CardNo: otherCardNo, ChipID: testChipID, Vendor: "acme"})
	require.Nil(t, c.Card.Fee)
}
