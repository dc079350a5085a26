package domain

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// beijingCard is the province's record of a card issued in 北京 (another
// prefecture than the fixture holder's 苏州).
func beijingCard() ProvincialCard {
	return ProvincialCard{CardNo: otherCardNo, Region: "110105", Status: StatusActive, IssuedOn: "2020-06-01", BankCode: "105"}
}

func transferredIn() []Event {
	return append(registered(), CardTransferredIn{CardNo: otherCardNo, FromRegion: "110105", ToRegion: "320505",
		Status: StatusActive, IssuedOn: "2020-06-01", ExpiresOn: "2030-06-01", BankCode: "105", Generation: GenerationSecond})
}

func TestTransferInTakesTheOtherCitysCard(t *testing.T) {
	c := given(t, registered()).when(TransferIn{Card: beijingCard(), Reason: "moved to Suzhou"}).thenEvents(
		CardTransferredIn{CardNo: otherCardNo, FromRegion: "110105", ToRegion: "320505", Status: StatusActive,
			IssuedOn: "2020-06-01", ExpiresOn: "2030-06-01", BankCode: "105", Generation: GenerationSecond, Reason: "moved to Suzhou"})
	require.NotNil(t, c.Card)
	assert.Equal(t, StatusActive, c.Status())
	assert.Equal(t, "110105", c.Card.TransferredFrom)
	assert.Equal(t, SourceTransfer, c.Card.Source)
	assert.Equal(t, "transfer-"+otherCardNo, c.Card.ApplicationID)
	assert.Equal(t, CustodyHolder, c.Card.Custody.At)
}

// The card transferred in lives the ordinary life of an active card here.
func TestTransferredInCardIsAnOrdinaryActiveCard(t *testing.T) {
	given(t, transferredIn()).when(ReportLoss{CardNo: otherCardNo}).thenEvents(CardReportedLost{CardNo: otherCardNo})
	given(t, transferredIn()).when(ApplyForCard{ApplicationID: "app-2", Source: SourceCounter}).thenError(CodeValidCardExists)
	given(t, transferredIn()).when(TransferOut{CardNo: otherCardNo, ToRegion: "440304"}).thenEvents(
		CardholderTransferredOut{CardNo: otherCardNo, FromRegion: "320505", ToRegion: "440304"})
}

// After a cancellation here, the old card moves to the past cards.
func TestTransferInAfterCancellationKeepsThePastCard(t *testing.T) {
	c := given(t, cancelled()).when(TransferIn{Card: beijingCard()}).thenEvents(
		CardTransferredIn{CardNo: otherCardNo, FromRegion: "110105", ToRegion: "320505", Status: StatusActive,
			IssuedOn: "2020-06-01", ExpiresOn: "2030-06-01", BankCode: "105", Generation: GenerationSecond})
	require.Len(t, c.PastCards, 1)
	assert.Equal(t, testCardNo, c.PastCards[0].CardNo)
}

func TestTransferInRefusals(t *testing.T) {
	given(t).when(TransferIn{Card: beijingCard()}).thenError(CodeCardholderNotFound)
	given(t, active()).when(TransferIn{Card: beijingCard()}).thenError(CodeValidCardExists)
	local := beijingCard()
	local.Region = "320583" // 昆山, a county of 苏州
	given(t, registered()).when(TransferIn{Card: local}).thenError(CodeSamePrefecture)
	lostThere := beijingCard()
	lostThere.Status = StatusLost
	given(t, registered()).when(TransferIn{Card: lostThere}).thenError(CodeNotTransferable)
	cancelledThere := beijingCard()
	cancelledThere.Status = StatusCancelled
	given(t, registered()).when(TransferIn{Card: cancelledThere}).thenError(CodeNotTransferable)
	bad := ProvincialCard{CardNo: "x", Region: "99", Status: StatusActive, IssuedOn: "2020-02-30", Generation: "fourth"}
	s := given(t, registered()).when(TransferIn{Card: bad})
	e := s.thenError(CodeInvalidCommand)
	assert.ElementsMatch(t, []string{"card_no:" + CodeInvalidCardNo, "region:" + CodeInvalidRegionCode,
		"issued_on:" + CodeInvalidValue, "generation:" + CodeInvalidValue}, fieldCodes(e))
}

func TestRefuseHeldElsewhere(t *testing.T) {
	held := []ProvincialCard{beijingCard()}
	for _, tc := range []struct {
		name  string
		given []Event
		held  []ProvincialCard
		want  string
	}{
		{"no card here, valid card in Beijing", registered(), held, CodeCardHeldElsewhere},
		{"cancelled here, valid card in Beijing", cancelled(), held, CodeCardHeldElsewhere},
		{"nothing at the province", registered(), nil, ""},
		{"the Beijing card is lost there", registered(), []ProvincialCard{{CardNo: otherCardNo, Region: "110105", Status: StatusLost}}, CodeCardHeldElsewhere},
		{"the Beijing card is cancelled", registered(), []ProvincialCard{{CardNo: otherCardNo, Region: "110105", Status: StatusCancelled}}, ""},
		{"a card of the own prefecture", registered(), []ProvincialCard{{CardNo: otherCardNo, Region: "320583", Status: StatusActive}}, ""},
		{"the province still lists the own cancelled card elsewhere", cancelled(), []ProvincialCard{{CardNo: testCardNo, Region: "110105", Status: StatusActive}}, ""},
		{"a valid card here: the command's own refusal", active(), held, ""},
		{"transferred here already", transferredIn(), held, ""},
		{"unregistered: the command's own refusal", nil, held, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := RefuseHeldElsewhere(Replay(testHolderID, tc.given), tc.held)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			e, ok := AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, tc.want, e.Code)
			assert.Equal(t, KindConflict, e.Kind)
		})
	}
}

func TestCancelProvincialRecord(t *testing.T) {
	c := given(t, cancelled()).when(CancelProvincialRecord{CardNo: testCardNo, Reason: "card destroyed"}).thenEvents(
		ProvincialRecordCancelled{CardNo: testCardNo, Reason: "card destroyed"})
	assert.True(t, c.Card.ProvincialRecordCancelled)
	given(t, cancelled(), []Event{ProvincialRecordCancelled{CardNo: testCardNo, Reason: "x"}}).
		when(CancelProvincialRecord{CardNo: testCardNo, Reason: "again"}).thenError(CodeProvincialRecordCancelled)
	given(t, active()).when(CancelProvincialRecord{CardNo: testCardNo, Reason: "r"}).thenError(CodeCardStillValid)
	given(t, transferred()).when(CancelProvincialRecord{CardNo: testCardNo, Reason: "r"}).thenError(CodeTransferredOut)
	given(t, active()).when(CancelProvincialRecord{CardNo: otherCardNo, Reason: "r"}).thenError(CodeCardNotFound)
	given(t, cancelled()).when(CancelProvincialRecord{CardNo: testCardNo}).thenFieldError("reason", CodeRequired)
}

// A replaced card (a past card, cancelled with cause replacement) can have
// its provincial record cancelled; the new card is untouched.
func TestCancelProvincialRecordOfAPastCard(t *testing.T) {
	replaced := append(active(), CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
		CardApplied{ApplicationID: "app-2", Source: SourceCounter, Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo})
	c := given(t, replaced).when(CancelProvincialRecord{CardNo: testCardNo, Reason: "replaced"}).thenEvents(
		ProvincialRecordCancelled{CardNo: testCardNo, Reason: "replaced"})
	assert.True(t, c.PastCards[0].ProvincialRecordCancelled)
	assert.False(t, c.Card.ProvincialRecordCancelled)
}
