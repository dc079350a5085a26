package domain

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var testPhoto = Photo{Ref: PhotoRefPrefix + strings.Repeat("ab", 32), Source: PhotoFromCounter,
	ContentType: "image/jpeg", Width: 358, Height: 441, Bytes: 20480}

func withPhoto(events []Event) []Event {
	return append(append([]Event{}, events...), PhotoCollected{Photo: testPhoto})
}

func TestCollectPhotoMakesItTheCurrentOne(t *testing.T) {
	c := given(t, registered()).when(CollectPhoto{Photo: testPhoto}).thenEvents(PhotoCollected{Photo: testPhoto})
	require.Equal(t, testPhoto, *c.Photo)
	// The same photo again is nothing new.
	given(t, withPhoto(registered())).when(CollectPhoto{Photo: testPhoto}).thenEvents()
	given(t, nil).when(CollectPhoto{Photo: testPhoto}).thenError(CodeCardholderNotFound)
	bad := testPhoto
	bad.Ref, bad.Source, bad.ContentType = "photos/1.jpg", "scanner", "image/gif"
	for _, field := range []string{"photo_ref", "source", "content_type"} {
		given(t, registered()).when(CollectPhoto{Photo: bad}).thenFieldError(field, CodeInvalidValue)
	}
}

// An application names the current photo or none (then it takes the
// current one); a free-text reference is refused unless it comes from a
// batch file.
func TestApplicationsCarryTheCurrentPhoto(t *testing.T) {
	c := given(t, withPhoto(registered())).when(ApplyForCard{ApplicationID: testApp, Source: SourceCounter, BankCode: testBank}).
		thenEvents(CardApplied{ApplicationID: testApp, Source: SourceCounter, Kind: FirstIssue, BankCode: testBank, PhotoRef: testPhoto.Ref})
	require.Equal(t, testPhoto.Ref, c.Card.PhotoRef)
	given(t, registered()).when(ApplyForCard{ApplicationID: testApp, Source: SourceCounter, BankCode: testBank, PhotoRef: "photos/1.jpg"}).
		thenError(CodePhotoNotCollected)
	given(t, withPhoto(registered())).when(ApplyForCard{ApplicationID: testApp, Source: SourceCounter, BankCode: testBank,
		PhotoRef: PhotoRefPrefix + strings.Repeat("cd", 32)}).thenError(CodePhotoNotCollected)
	given(t, registered()).when(ApplyForCard{ApplicationID: testApp, Source: SourceBatch, BankCode: testBank, PhotoRef: "photos/1.jpg"}).
		thenEvents(CardApplied{ApplicationID: testApp, Source: SourceBatch, Kind: FirstIssue, BankCode: testBank, PhotoRef: "photos/1.jpg"})
	given(t, registered()).when(ApplyForCard{ApplicationID: testApp, Source: SourceCounter, BankCode: testBank}).
		thenEvents(CardApplied{ApplicationID: testApp, Source: SourceCounter, Kind: FirstIssue, BankCode: testBank})
}

// The identity source's photo comes with the registration, in one append.
func TestRegisterWithThePoliceRecordsPhoto(t *testing.T) {
	p := testPhoto
	p.Source = PhotoFromPolice
	c := given(t, nil).when(RegisterCardholder{CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三",
		Nationality: "CHN", RegionCode: "320505", Photo: &p}).
		thenEvents(CardholderRegistered{CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三", Sex: Male,
			BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505"}, PhotoCollected{Photo: p})
	require.Equal(t, p, *c.Photo)
}

func TestErasureMarksTheCurrentPhoto(t *testing.T) {
	c := Replay(testHolderID, erased(withPhoto(active())))
	require.Equal(t, ErasedMarker, c.Photo.Ref)
	require.Equal(t, testPhoto.Width, c.Photo.Width)
}
