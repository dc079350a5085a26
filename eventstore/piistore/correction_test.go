package piistore_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
)

// A corrected name or photo is the person's data: sealed with their key and
// unreadable once they are erased; a corrected employer stays plain, as the
// registered one does.
func TestCorrectedPersonalDataIsSealedAndErased(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	const newName, newPhoto = "张叁丰", "photo/corrected-42.jpg"
	f.append(t, f.store, zhang.stream(),
		event(t, domain.PersonalDataCorrected{Field: domain.CorrectName, Name: newName, Reason: "typo"}),
		event(t, domain.PersonalDataCorrected{Field: domain.CorrectPhotoRef, PhotoRef: newPhoto, ApplicationID: "app-1", Reason: "wrong photo"}),
		event(t, domain.PersonalDataCorrected{Field: domain.CorrectEmployerCode, EmployerCode: "EMP-9", Reason: "moved"}))

	stored := f.storedData(t)
	n := len(stored)
	assert.NotContains(t, stored[n-3], newName)
	assert.NotContains(t, stored[n-2], newPhoto)
	assert.Equal(t, "EMP-9", fields(t, []byte(stored[n-1]))["employer_code"], "an employer code identifies no one")

	events, err := f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	n = len(events)
	assert.Equal(t, newName, fields(t, events[n-3].Data)["name"])
	assert.Equal(t, newPhoto, fields(t, events[n-2].Data)["photo_ref"])

	f.append(t, f.store, zhang.stream(), event(t, domain.CardholderErased{CardholderID: zhang.id}))
	events, err = f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	n = len(events)
	assert.Equal(t, domain.ErasedMarker, fields(t, events[n-4].Data)["name"])
	assert.Equal(t, domain.ErasedMarker, fields(t, events[n-3].Data)["photo_ref"])
	assert.Equal(t, "EMP-9", fields(t, events[n-2].Data)["employer_code"])
}

// The holder's e-mail address (实名邮箱) is personal data like the phone.
func TestCorrectedEmailIsSealedAndErased(t *testing.T) {
	f := newFixture(t)
	f.register(t, zhang)
	const email = "zhangsanfeng@mail.example.cn"
	f.append(t, f.store, zhang.stream(), event(t, domain.PersonalDataCorrected{Field: domain.CorrectEmail, Email: email, Reason: "实名邮箱"}))
	stored := f.storedData(t)
	assert.NotContains(t, stored[len(stored)-1], "zhangsanfeng")
	events, err := f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, email, fields(t, events[len(events)-1].Data)["email"])

	f.append(t, f.store, zhang.stream(), event(t, domain.CardholderErased{CardholderID: zhang.id}))
	events, err = f.store.ReadStream(f.ctx, zhang.stream(), 0, 0)
	require.NoError(t, err)
	assert.Equal(t, domain.ErasedMarker, fields(t, events[len(events)-2].Data)["email"])
}
