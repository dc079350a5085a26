package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCorrectNameKeepsOnlyTheNewValue(t *testing.T) {
	c := given(t, active()).when(CorrectPersonalData{Field: CorrectName, Value: " 张叁 ", Reason: "typo at registration"}).
		thenEvents(PersonalDataCorrected{Field: CorrectName, Name: "张叁", Reason: "typo at registration"})
	require.Equal(t, "张叁", c.Profile.Name)
	require.Equal(t, StatusActive, c.Status())
}

func TestCorrectEmployerAndCommunity(t *testing.T) {
	c := given(t, registered()).when(CorrectPersonalData{Field: CorrectEmployerCode, Value: "EMP-9", Reason: "changed employer"}).
		thenEvents(PersonalDataCorrected{Field: CorrectEmployerCode, EmployerCode: "EMP-9", Reason: "changed employer"})
	require.Equal(t, "EMP-9", c.Profile.EmployerCode)
	c = given(t, registered()).when(CorrectPersonalData{Field: CorrectCommunityCode, Value: "COM-3", Reason: "moved"}).
		thenEvents(PersonalDataCorrected{Field: CorrectCommunityCode, CommunityCode: "COM-3", Reason: "moved"})
	require.Equal(t, "COM-3", c.Profile.CommunityCode)
	given(t, registered()).when(CorrectPersonalData{Field: CorrectEmployerCode, Value: "EMP 9", Reason: "x"}).
		thenFieldError("value", CodeInvalidValue)
}

func TestCorrectPhotoOfTheCurrentCard(t *testing.T) {
	c := given(t, withPhoto(active())).when(CorrectPersonalData{Field: CorrectPhotoRef, Value: testPhoto.Ref, Reason: "wrong photo"}).
		thenEvents(PersonalDataCorrected{Field: CorrectPhotoRef, PhotoRef: testPhoto.Ref, ApplicationID: testApp, Reason: "wrong photo"})
	require.Equal(t, testPhoto.Ref, c.Card.PhotoRef)
	given(t, withPhoto(registered())).when(CorrectPersonalData{Field: CorrectPhotoRef, Value: testPhoto.Ref, Reason: "wrong photo"}).
		thenError(CodeNoCardForPhoto)
	// Only the holder's current stored photo, never a free-text reference.
	given(t, active()).when(CorrectPersonalData{Field: CorrectPhotoRef, Value: "photo/2.jpg", Reason: "wrong photo"}).
		thenError(CodePhotoNotCollected)
}

// The phone is corrected the one way a phone changes: PhoneChanged, here
// with the correction's reason.
func TestCorrectPhoneRecordsPhoneChanged(t *testing.T) {
	c := given(t, registered()).when(CorrectPersonalData{Field: CorrectPhone, Value: "13900139000", Reason: "typo"}).
		thenEvents(PhoneChanged{Phone: "13900139000", Reason: "typo"})
	require.Equal(t, "13900139000", c.Profile.Phone)
	given(t, registered()).when(CorrectPersonalData{Field: CorrectPhone, Value: "13900139000", Reason: "new number", Channel: "rsapp"}).
		thenEvents(PhoneChanged{Phone: "13900139000", Channel: "rsapp", Reason: "new number"})
	given(t, registered()).when(CorrectPersonalData{Field: CorrectPhone, Value: "23900139000", Reason: "typo"}).
		thenFieldError("value", CodeInvalidPhone)
	given(t, registered(), []Event{PhoneChanged{Phone: "13900139000"}}).
		when(CorrectPersonalData{Field: CorrectPhone, Value: "13900139000", Reason: "typo"}).thenError(CodeCorrectionUnchanged)
}

func TestCorrectionRefusals(t *testing.T) {
	given(t, registered()).when(CorrectPersonalData{Field: CorrectName, Value: "张叁"}).thenFieldError("reason", CodeRequired)
	given(t, registered()).when(CorrectPersonalData{Field: "id_number", Value: "x", Reason: "r"}).thenFieldError("field", CodeInvalidValue)
	given(t, registered()).when(CorrectPersonalData{Value: "x", Reason: "r"}).thenFieldError("field", CodeRequired)
	given(t, registered()).when(CorrectPersonalData{Field: CorrectName, Value: " ", Reason: "r"}).thenFieldError("value", CodeRequired)
	given(t, registered()).when(CorrectPersonalData{Field: CorrectName, Value: "张\x01叁", Reason: "r"}).thenFieldError("value", CodeInvalidValue)
	given(t, registered()).when(CorrectPersonalData{Field: CorrectName, Value: "张叁", Reason: "r", Channel: "rsapp"}).
		thenFieldError("field", CodePhoneOnlyThroughChannel)
	given(t, registered()).when(CorrectPersonalData{Field: CorrectName, Value: "张三", Reason: "r"}).thenError(CodeCorrectionUnchanged)
	given(t).when(CorrectPersonalData{Field: CorrectName, Value: "张叁", Reason: "r"}).thenError(CodeCardholderNotFound)
	given(t, active(), []Event{CardholderErased{CardholderID: testHolderID}}).
		when(CorrectPersonalData{Field: CorrectName, Value: "张叁", Reason: "r"}).thenError(CodeAlreadyErased)
}

// A corrected name and photo read as erased after an erasure, as the
// registered ones do.
func TestErasureCoversCorrections(t *testing.T) {
	c := Replay(testHolderID, append(active(),
		PersonalDataCorrected{Field: CorrectName, Name: "张叁", Reason: "typo"},
		PersonalDataCorrected{Field: CorrectPhotoRef, PhotoRef: "photo/2.jpg", ApplicationID: testApp, Reason: "wrong photo"},
		CardholderErased{CardholderID: testHolderID}))
	require.Equal(t, ErasedMarker, c.Profile.Name)
	require.Equal(t, ErasedMarker, c.Card.PhotoRef)
}
