package domain

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func erased(history []Event) []Event {
	return append(history, CardholderErased{CardholderID: testHolderID})
}

func TestEraseRecordsTheErasureOfARegisteredHolder(t *testing.T) {
	c := given(t, active()).when(EraseCardholder{}).thenEvents(CardholderErased{CardholderID: testHolderID})
	assert.True(t, c.Erased)
	assert.Equal(t, Profile{IDNumber: ErasedMarker, Name: ErasedMarker, Sex: Male, BirthDate: ErasedMarker,
		Nationality: "CHN", RegionCode: "320505"}, c.Profile, "personal fields erased, empty ones stay empty")
	assert.Equal(t, ErasedMarker, c.Card.PhotoRef)
	assert.Equal(t, StatusActive, c.Status(), "the card is untouched")
}

func TestEraseIsAllowedOnce(t *testing.T) {
	e := given(t, erased(active())).when(EraseCardholder{}).thenError(CodeAlreadyErased)
	assert.Equal(t, KindConflict, e.Kind)
}

func TestEraseNeedsARegisteredHolder(t *testing.T) {
	given(t).when(EraseCardholder{}).thenError(CodeCardholderNotFound)
}

func TestEraseMarksPastCardsPhotos(t *testing.T) {
	history := erased(append(cancelled(), CardApplied{ApplicationID: "app-2", Source: SourceCounter,
		Kind: Replacement, BankCode: testBank, ReplacesCardNo: testCardNo}))
	c := Replay(testHolderID, history)
	require.Len(t, c.PastCards, 1)
	assert.Equal(t, ErasedMarker, c.PastCards[0].PhotoRef)
	assert.Equal(t, "", c.Card.PhotoRef, "a photo never given stays empty")
}

// After an erasure the state machine goes on: the card can be lost,
// unlocked, cancelled and replaced, and the new application may carry a
// photo given after the erasure.
func TestCommandsStillWorkAfterErasure(t *testing.T) {
	given(t, erased(active())).when(ReportLoss{CardNo: testCardNo, Reason: "lost"}).
		thenEvents(CardReportedLost{CardNo: testCardNo, Reason: "lost"})
	given(t, erased(lost())).when(UnlockCard{CardNo: testCardNo}).
		thenEvents(CardUnlocked{CardNo: testCardNo, Lifted: StatusLost})
	given(t, erased(active())).when(IssueECard{CardNo: testCardNo}).thenEvents(ECardIssued{CardNo: testCardNo})
	given(t, erased(withPhoto(active()))).when(ReplaceCard{CardNo: testCardNo, ApplicationID: "app-2", Source: SourceCounter,
		BankCode: testBank, PhotoRef: testPhoto.Ref, Reason: "damaged"}).thenError(CodePhotoNotCollected)
	c := given(t, withPhoto(erased(active()))).when(ReplaceCard{CardNo: testCardNo, ApplicationID: "app-2", Source: SourceCounter,
		BankCode: testBank, Reason: "damaged"}).
		thenEvents(
			CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive, Reason: "damaged"},
			CardApplied{ApplicationID: "app-2", Source: SourceCounter, Kind: Replacement, BankCode: testBank,
				PhotoRef: testPhoto.Ref, ReplacesCardNo: testCardNo},
		)
	assert.Equal(t, testPhoto.Ref, c.Card.PhotoRef)
	assert.Equal(t, ErasedMarker, c.Profile.Name)
	given(t, erased(registered())).when(RegisterCardholder{CardholderID: testHolderID, IDNumber: testIDNumber,
		Name: "张三", Nationality: "CHN", RegionCode: "320505"}).thenError(CodeAlreadyRegistered)
}
