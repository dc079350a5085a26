package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Every path that applies for a replacement records the fee with the same
// schedule: a channel's replacement and an instant issue opening its own
// replacement application, besides replace_card (fee_test.go).

func bornOn(h []Event, birth string) []Event {
	h = append([]Event(nil), h...)
	r := h[0].(CardholderRegistered)
	r.BirthDate = birth
	h[0] = r
	return h
}

func channelFee(claim FeeExemption) ApplyThroughChannel {
	return ApplyThroughChannel{ApplicationID: feeApp, Channel: "rsapp",
		Fee: &ReplacementFee{Schedule: testSchedule, Claim: claim, On: testDay}}
}

func TestAChannelReplacementRecordsTheFee(t *testing.T) {
	c := given(t, lost()).when(channelFee("")).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusLost},
		CardApplied{ApplicationID: feeApp, Source: SourceOnline, Kind: Replacement, BankCode: testBank,
			ReplacesCardNo: testCardNo, Channel: "rsapp"},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, AssessedOn: "2024-03-01"},
	)
	require.True(t, c.Card.Fee.Due())
	// The e-card carried over, the fee still right after the application.
	given(t, boundTo("rsapp"), []Event{CardReportedLost{CardNo: testCardNo}}).when(channelFee("")).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusLost},
		CardApplied{ApplicationID: feeApp, Source: SourceOnline, Kind: Replacement, BankCode: testBank,
			ReplacesCardNo: testCardNo, Channel: "rsapp"},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, AssessedOn: "2024-03-01"},
		ECardCarriedOver{ApplicationID: feeApp, FromCardNo: testCardNo},
	)
	// After a cancellation the application is a replacement too.
	given(t, cancelled()).when(channelFee("")).thenEvents(
		CardApplied{ApplicationID: feeApp, Source: SourceOnline, Kind: Replacement, BankCode: testBank,
			ReplacesCardNo: testCardNo, Channel: "rsapp"},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, AssessedOn: "2024-03-01"},
	)
}

func TestAChannelReplacementExemptsTheElderlyButTakesNoClaim(t *testing.T) {
	given(t, bornOn(lost(), "1950-01-01")).when(channelFee("")).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusLost},
		CardApplied{ApplicationID: feeApp, Source: SourceOnline, Kind: Replacement, BankCode: testBank,
			ReplacesCardNo: testCardNo, Channel: "rsapp"},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, Exemption: FeeExemptElderly, AssessedOn: "2024-03-01"},
	)
	given(t, lost()).when(channelFee(FeeExemptHardship)).thenFieldError("fee_exemption", CodeInvalidValue)
	given(t, lost()).when(channelFee(FeeExemptCardDefect)).thenFieldError("fee_exemption", CodeInvalidValue)
}

func TestAChannelReplacementWithoutAScheduleRecordsNoFee(t *testing.T) {
	free := channelFee("")
	free.Fee.Schedule.AmountFen = 0
	given(t, lost()).when(free).thenEvents(
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusLost},
		CardApplied{ApplicationID: feeApp, Source: SourceOnline, Kind: Replacement, BankCode: testBank,
			ReplacesCardNo: testCardNo, Channel: "rsapp"},
	)
}

// A channel's unpaid replacement is held at the bank's counter too.
func TestAChannelReplacementIsHeldUntilPaid(t *testing.T) {
	applied := append(lost(),
		CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusLost},
		CardApplied{ApplicationID: feeApp, Source: SourceOnline, Kind: Replacement, BankCode: testBank,
			ReplacesCardNo: testCardNo, Channel: "rsapp"},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, AssessedOn: "2024-03-01"})
	issue := InstantIssue{BankCode: testBank, AccountNo: testAccount, CardNo: otherCardNo, ChipID: testChipID, On: testDay}
	given(t, applied).when(issue).thenError(CodeReplacementFeeUnpaid)
	paid := append(applied, ReplacementFeePaid{ApplicationID: feeApp, PaymentID: "pos-1", AmountFen: 2000, PaidAt: testDay.UTC()})
	given(t, paid).when(issue).thenEvents(
		BankAccountOpened{ApplicationID: feeApp, BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: feeApp, CardNo: otherCardNo},
		CardProduced{CardNo: otherCardNo, ChipID: testChipID},
		CardIssued{CardNo: otherCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01"},
		CardActivated{CardNo: otherCardNo},
	)
}

func instantFee(claim FeeExemption) InstantIssue {
	return InstantIssue{ApplicationID: feeApp, BankCode: testBank, AccountNo: testAccount, CardNo: otherCardNo, ChipID: testChipID,
		On: testDay, Fee: &ReplacementFee{Schedule: testSchedule, Claim: claim, On: testDay}}
}

// An instant issue opening its own replacement application cannot make a
// card whose fee is due: refused, nothing appended; the elderly get it
// made at once with the exempted fee recorded.
func TestAnInstantIssueOpeningAReplacementRecordsOrHoldsTheFee(t *testing.T) {
	given(t, cancelled()).when(instantFee("")).thenError(CodeReplacementFeeUnpaid)
	given(t, bornOn(cancelled(), "1950-01-01")).when(instantFee("")).thenEvents(
		CardApplied{ApplicationID: feeApp, Source: SourceBank, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, Exemption: FeeExemptElderly, AssessedOn: "2024-03-01"},
		BankAccountOpened{ApplicationID: feeApp, BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: feeApp, CardNo: otherCardNo},
		CardProduced{CardNo: otherCardNo, ChipID: testChipID},
		CardIssued{CardNo: otherCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01"},
		CardActivated{CardNo: otherCardNo},
	)
	given(t, cancelled()).when(instantFee(FeeExemptHardship)).thenFieldError("fee_exemption", CodeInvalidValue)
	// A first issue costs nothing: no fee event.
	first := instantFee("")
	first.CardNo = testCardNo
	given(t, registered()).when(first).thenEvents(
		CardApplied{ApplicationID: feeApp, Source: SourceBank, Kind: FirstIssue, BankCode: testBank},
		BankAccountOpened{ApplicationID: feeApp, BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: feeApp, CardNo: testCardNo},
		CardProduced{CardNo: testCardNo, ChipID: testChipID},
		CardIssued{CardNo: testCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01"},
		CardActivated{CardNo: testCardNo},
	)
}

// A counter's application after a cancellation replaces the cancelled
// card: it pays, with the counter's claims, like replace_card.
func TestAnApplicationAfterACancellationRecordsTheFee(t *testing.T) {
	apply := func(claim FeeExemption) ApplyForCard {
		return ApplyForCard{ApplicationID: feeApp, Source: SourceCounter, BankCode: testBank,
			Fee: &ReplacementFee{Schedule: testSchedule, Claim: claim, On: testDay}}
	}
	c := given(t, cancelled()).when(apply("")).thenEvents(
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, AssessedOn: "2024-03-01"},
	)
	require.True(t, c.Card.Fee.Due())
	given(t, cancelled()).when(apply(FeeExemptHardship)).thenEvents(
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo},
		ReplacementFeeAssessed{ApplicationID: feeApp, AmountFen: 2000, Exemption: FeeExemptHardship, AssessedOn: "2024-03-01"},
	)
	given(t, registered()).when(apply("")).thenEvents(
		CardApplied{ApplicationID: feeApp, Source: SourceCounter, Kind: FirstIssue, BankCode: testBank},
	)
	given(t, registered()).when(apply(FeeExemptHardship)).thenError(CodeNoFeeDue)
}
