package domain

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCorrectEmailSetsTheAddress(t *testing.T) {
	c := given(t, registered()).when(CorrectPersonalData{Field: CorrectEmail, Value: "zhangsan@sg.example.cn", Reason: "实名邮箱 issued"}).
		thenEvents(PersonalDataCorrected{Field: CorrectEmail, Email: "zhangsan@sg.example.cn", Reason: "实名邮箱 issued"})
	require.Equal(t, "zhangsan@sg.example.cn", c.Profile.Email)
	for _, bad := range []string{"zhangsan", "张三 <z@sg.example.cn>", "z @sg.example.cn", "z@localhost", "z@sg.example.cn\r\nBcc: x@y.cn"} {
		given(t, registered()).when(CorrectPersonalData{Field: CorrectEmail, Value: bad, Reason: "r"}).thenFieldError("value", CodeInvalidEmail)
	}
	given(t, registered()).when(CorrectPersonalData{Field: CorrectEmail, Value: "z@sg.example.cn", Reason: "r", Channel: "rsapp"}).
		thenFieldError("field", CodePhoneOnlyThroughChannel)
	given(t, registered(), []Event{PersonalDataCorrected{Field: CorrectEmail, Email: "z@sg.example.cn", Reason: "r"}}).
		when(CorrectPersonalData{Field: CorrectEmail, Value: "z@sg.example.cn", Reason: "r"}).thenError(CodeCorrectionUnchanged)
	c = Replay(testHolderID, append(registered(), PersonalDataCorrected{Field: CorrectEmail, Email: "z@sg.example.cn", Reason: "r"},
		CardholderErased{CardholderID: testHolderID}))
	require.Equal(t, ErasedMarker, c.Profile.Email)
}

func TestNotificationPreferences(t *testing.T) {
	c := given(t, active()).when(SetNotificationPreferences{SMSOptOut: true}).
		thenEvents(NotificationPreferencesSet{SMSOptOut: true})
	require.Equal(t, NotificationOptOut{SMS: true}, c.NotifyOptOut)
	c = given(t, active(), []Event{NotificationPreferencesSet{SMSOptOut: true}}).
		when(SetNotificationPreferences{EmailOptOut: true, Channel: "rsapp"}).
		thenEvents(NotificationPreferencesSet{EmailOptOut: true, Channel: "rsapp"})
	require.Equal(t, NotificationOptOut{Email: true}, c.NotifyOptOut)
	given(t, active()).when(SetNotificationPreferences{}).thenError(CodeNotificationPreferencesUnchanged)
	given(t).when(SetNotificationPreferences{SMSOptOut: true}).thenError(CodeCardholderNotFound)
}
