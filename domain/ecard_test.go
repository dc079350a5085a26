package domain

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// E-card channels, consent and self-service (issue 14), given-events /
// when-command / then-events.

var consentAt = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

func bind(channel string, scopes ...ConsentScope) BindECardChannel {
	return BindECardChannel{Channel: channel, IDNumber: testIDNumber, Name: "张三", Scopes: scopes, At: consentAt}
}

func grantedOn(channel string, scopes ...ConsentScope) ConsentGranted {
	return ConsentGranted{Channel: channel, Scopes: scopes, GrantedAt: consentAt, ExpiresAt: consentAt.Add(MaxConsentDuration)}
}

// boundTo is an active card whose e-card was issued through the first
// channel and bound to the others.
func boundTo(channels ...string) []Event {
	h := append(active(), ECardIssued{CardNo: testCardNo, Channel: channels[0]})
	for _, ch := range channels[1:] {
		h = append(h, ECardChannelBound{CardNo: testCardNo, Channel: ch})
	}
	return h
}

func TestBindIssuesTheECardThroughTheChannel(t *testing.T) {
	c := given(t, active()).when(bind("rsapp")).thenEvents(ECardIssued{CardNo: testCardNo, Channel: "rsapp"})
	require.True(t, c.ECardUsable())
	require.True(t, c.ECardBoundTo("rsapp"))
	require.False(t, c.ECardBoundTo("icbc-app"))
	require.False(t, c.ConsentAllows("rsapp", ConsentIdentity, consentAt), "no consent was given")
}

func TestBindUnderConsentIsOneDecision(t *testing.T) {
	c := given(t, active()).when(bind("rsapp", ConsentSelfService, ConsentIdentity, ConsentIdentity)).
		thenEvents(grantedOn("rsapp", ConsentIdentity, ConsentSelfService), ECardIssued{CardNo: testCardNo, Channel: "rsapp"})
	require.True(t, c.ConsentAllows("rsapp", ConsentIdentity, consentAt))
	require.True(t, c.ConsentAllows("rsapp", ConsentSelfService, consentAt.Add(MaxConsentDuration-time.Second)))
	require.False(t, c.ConsentAllows("rsapp", ConsentSelfService, consentAt.Add(MaxConsentDuration)), "expired")
	require.False(t, c.ConsentAllows("rsapp", ConsentContact, consentAt), "scope not granted")
	require.False(t, c.ConsentAllows("icbc-app", ConsentIdentity, consentAt), "another channel")
}

func TestBindOneECardToManyChannels(t *testing.T) {
	c := given(t, boundTo("rsapp")).when(bind("icbc-app")).
		thenEvents(ECardChannelBound{CardNo: testCardNo, Channel: "icbc-app"})
	require.Equal(t, []string{"rsapp", "icbc-app"}, c.ECardChannels)
	given(t, boundTo("rsapp", "icbc-app")).when(bind("icbc-app")).thenError(CodeECardAlreadyBound)
	// An e-card issued at the counter has no channel yet; binding adds one.
	c = given(t, withECard(active())).when(bind("rsapp")).thenEvents(ECardChannelBound{CardNo: testCardNo, Channel: "rsapp"})
	require.True(t, c.ECardBoundTo("rsapp"))
}

func TestBindNeedsTheRegisteredNameAndIDNumber(t *testing.T) {
	wrongName := bind("rsapp")
	wrongName.Name = "李四"
	given(t, active()).when(wrongName).thenError(CodeIdentityMismatch)
	wrongID := bind("rsapp")
	wrongID.IDNumber = "11010519491231002X"
	given(t, active()).when(wrongID).thenError(CodeIdentityMismatch)
	noName := bind("rsapp")
	noName.Name = ""
	given(t, active()).when(noName).thenFieldError("name", CodeRequired)
	given(t, active()).when(bind("RS APP")).thenFieldError("channel", CodeInvalidValue)
	expiryAlone := bind("rsapp")
	expiryAlone.ExpiresAt = consentAt.Add(time.Hour)
	given(t, active()).when(expiryAlone).thenFieldError("expires_at", CodeInvalidValue)
	// An erased holder matches nobody.
	given(t, active(), []Event{CardholderErased{CardholderID: testHolderID}}).when(bind("rsapp")).thenError(CodeIdentityMismatch)
}

func TestBindNeedsAnActiveCardOrAUsableECard(t *testing.T) {
	given(t, lost()).when(bind("rsapp")).thenError(CodeCardNotActive)
	given(t, withECard(lost())).when(bind("rsapp")).thenError(CodeCardNotActive)
	given(t, issued()).when(bind("rsapp")).thenError(CodeCardNotActive)
	given(t).when(bind("rsapp")).thenError(CodeCardholderNotFound)
}

func TestUnbindLeavesTheOtherChannels(t *testing.T) {
	c := given(t, boundTo("rsapp", "icbc-app")).when(UnbindECardChannel{Channel: "rsapp", Reason: "uninstalled"}).
		thenEvents(ECardChannelUnbound{CardNo: testCardNo, Channel: "rsapp", Reason: "uninstalled"})
	require.False(t, c.ECardBoundTo("rsapp"))
	require.True(t, c.ECardBoundTo("icbc-app"))
	// The last one: the e-card stays issued, bound to no channel.
	c = given(t, boundTo("rsapp")).when(UnbindECardChannel{Channel: "rsapp"}).
		thenEvents(ECardChannelUnbound{CardNo: testCardNo, Channel: "rsapp"})
	require.True(t, c.ECardUsable())
	require.Empty(t, c.ECardChannels)
	given(t, boundTo("rsapp")).when(UnbindECardChannel{Channel: "icbc-app"}).thenError(CodeECardNotBound)
}

func TestUnbindRevokesTheChannelsConsent(t *testing.T) {
	c := given(t, boundTo("rsapp"), []Event{grantedOn("rsapp", ConsentIdentity), grantedOn("icbc-app", ConsentIdentity)}).
		when(UnbindECardChannel{Channel: "rsapp"}).
		thenEvents(ECardChannelUnbound{CardNo: testCardNo, Channel: "rsapp"}, ConsentRevoked{Channel: "rsapp", Reason: "unbound"})
	require.False(t, c.ConsentAllows("rsapp", ConsentIdentity, consentAt))
	require.True(t, c.ConsentAllows("icbc-app", ConsentIdentity, consentAt))
}

func TestReplacementCarriesTheECardAndItsBindings(t *testing.T) {
	c := given(t, boundTo("rsapp", "icbc-app")).
		when(ReplaceCard{CardNo: testCardNo, ApplicationID: "app-2", Source: SourceCounter, Reason: "damaged"}).
		thenEvents(
			CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive, Reason: "damaged"},
			CardApplied{ApplicationID: "app-2", Source: SourceCounter, Kind: Replacement, ReplacesCardNo: testCardNo},
			ECardCarriedOver{ApplicationID: "app-2", FromCardNo: testCardNo},
		)
	require.True(t, c.ECardBoundTo("rsapp") && c.ECardBoundTo("icbc-app"))
	require.False(t, c.ECardUsable(), "the new card is not in the holder's hands yet")
	for _, e := range []Event{
		BankAccountOpened{ApplicationID: "app-2", BankCode: testBank, AccountNo: testAccount},
		CardNumberAssigned{ApplicationID: "app-2", CardNo: otherCardNo},
		CardProduced{CardNo: otherCardNo, ChipID: testChipID},
		CardIssued{CardNo: otherCardNo, IssuedOn: "2026-12-05", ExpiresOn: "2036-12-05"},
	} {
		c.Apply(e)
	}
	require.True(t, c.ECardUsable(), "usable once the new card is issued")
	// A replacement without an e-card carries nothing.
	given(t, active()).when(ReplaceCard{CardNo: testCardNo, ApplicationID: "app-2", Source: SourceCounter}).
		thenEvents(
			CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusActive},
			CardApplied{ApplicationID: "app-2", Source: SourceCounter, Kind: Replacement, ReplacesCardNo: testCardNo},
		)
}

func TestCancellationEndsTheECard(t *testing.T) {
	c := given(t, boundTo("rsapp")).when(CancelCard{CardNo: testCardNo, Reason: "holder asked"}).
		thenEvents(
			CardCancelled{CardNo: testCardNo, Cause: CauseRequest, From: StatusActive, Reason: "holder asked"},
			ECardRevoked{CardNo: testCardNo, Cause: ECardCauseCardCancelled},
		)
	require.False(t, c.ECardBoundTo("rsapp"))
	require.Empty(t, c.ECardChannels)
	// Restoring the card does not bring the e-card back.
	c.Apply(CardCancellationRestored{CardNo: testCardNo, To: StatusActive})
	require.False(t, c.ECardUsable())
	// Without an e-card, a cancellation is only that.
	given(t, active()).when(CancelCard{CardNo: testCardNo}).
		thenEvents(CardCancelled{CardNo: testCardNo, Cause: CauseRequest, From: StatusActive})
	// Commands cannot give the causes cancellation and transfer record.
	given(t, boundTo("rsapp")).when(RevokeECard{CardNo: testCardNo, Cause: ECardCauseCardCancelled}).thenFieldError("cause", CodeInvalidValue)
	given(t, boundTo("rsapp")).when(RevokeECard{CardNo: testCardNo, Cause: ECardCauseTransferred}).thenFieldError("cause", CodeInvalidValue)
}

func TestRevocationEndsEveryBinding(t *testing.T) {
	c := given(t, boundTo("rsapp", "icbc-app")).when(RevokeECard{CardNo: testCardNo, Cause: ECardCauseMisuse}).
		thenEvents(ECardRevoked{CardNo: testCardNo, Cause: ECardCauseMisuse})
	require.Empty(t, c.ECardChannels)
}

// Streams written before channels existed replay to the state they had:
// an e-card issued at the counter bound to no channel, a cancellation that
// did not revoke it, so a restoration makes it usable again.
func TestStreamsBeforeChannelsReplayAsBefore(t *testing.T) {
	old := append(withECard(active()),
		CardCancelled{CardNo: testCardNo, Cause: CauseRequest, From: StatusActive},
		CardCancellationRestored{CardNo: testCardNo, To: StatusActive})
	c := Replay(testHolderID, old)
	require.True(t, c.ECardUsable())
	require.Nil(t, c.ECardChannels)
	require.Nil(t, c.Consents)
	require.False(t, c.ECardBoundTo(""))
}

func TestGrantConsent(t *testing.T) {
	c := given(t, registered()).when(GrantConsent{Channel: "rsapp", Scopes: []ConsentScope{ConsentCardStatus}, At: consentAt}).
		thenEvents(grantedOn("rsapp", ConsentCardStatus))
	require.True(t, c.ConsentAllows("rsapp", ConsentCardStatus, consentAt))
	// A later grant replaces the earlier one.
	later := consentAt.Add(24 * time.Hour)
	c.Apply(ConsentGranted{Channel: "rsapp", Scopes: []ConsentScope{ConsentContact}, GrantedAt: later, ExpiresAt: later.Add(time.Hour)})
	require.False(t, c.ConsentAllows("rsapp", ConsentCardStatus, later))
	require.True(t, c.ConsentAllows("rsapp", ConsentContact, later))
	require.Len(t, c.Consents, 1)

	given(t, registered()).when(GrantConsent{Channel: "rsapp", At: consentAt}).thenFieldError("scopes", CodeRequired)
	given(t, registered()).when(GrantConsent{Channel: "rsapp", Scopes: []ConsentScope{"everything"}, At: consentAt}).
		thenFieldError("scopes", CodeInvalidValue)
	given(t, registered()).when(GrantConsent{Channel: "rsapp", Scopes: []ConsentScope{ConsentIdentity}, At: consentAt,
		ExpiresAt: consentAt.Add(MaxConsentDuration + time.Second)}).thenFieldError("expires_at", CodeInvalidValue)
	given(t, registered()).when(GrantConsent{Channel: "rsapp", Scopes: []ConsentScope{ConsentIdentity}, At: consentAt,
		ExpiresAt: consentAt}).thenFieldError("expires_at", CodeInvalidValue)
	given(t, registered()).when(GrantConsent{Channel: "rsapp", Scopes: []ConsentScope{ConsentIdentity}}).thenFieldError("at", CodeRequired)
	given(t).when(GrantConsent{Channel: "rsapp", Scopes: []ConsentScope{ConsentIdentity}, At: consentAt}).thenError(CodeCardholderNotFound)
}

func TestRevokeConsent(t *testing.T) {
	c := given(t, registered(), []Event{grantedOn("rsapp", ConsentIdentity)}).
		when(RevokeConsent{Channel: "rsapp", Reason: "no longer use it"}).
		thenEvents(ConsentRevoked{Channel: "rsapp", Reason: "no longer use it"})
	require.False(t, c.ConsentAllows("rsapp", ConsentIdentity, consentAt))
	given(t, registered()).when(RevokeConsent{Channel: "rsapp"}).thenError(CodeNoConsent)
}

func TestCancellationRequestWaitsForTheCounter(t *testing.T) {
	c := given(t, boundTo("rsapp")).when(RequestCancellation{CardNo: testCardNo, Channel: "rsapp", Reason: "moving abroad"}).
		thenEvents(CardCancellationRequested{CardNo: testCardNo, Channel: "rsapp", Reason: "moving abroad"})
	require.Equal(t, StatusActive, c.Status())
	require.Equal(t, &CancellationRequest{Channel: "rsapp", Reason: "moving abroad"}, c.Card.PendingCancellation)
	pending := []Event{CardCancellationRequested{CardNo: testCardNo, Channel: "rsapp"}}
	given(t, boundTo("rsapp"), pending).when(RequestCancellation{CardNo: testCardNo, Channel: "rsapp"}).thenError(CodeCancellationRequested)
	c = given(t, active(), pending).when(CancelCard{CardNo: testCardNo}).
		thenEvents(CardCancelled{CardNo: testCardNo, Cause: CauseRequest, From: StatusActive})
	require.Nil(t, c.Card.PendingCancellation)
	given(t, boundTo("rsapp")).when(RequestCancellation{CardNo: testCardNo}).thenFieldError("channel", CodeRequired)
}

func TestChangePhone(t *testing.T) {
	c := given(t, registered()).when(ChangePhone{Phone: "13900139000", Channel: "rsapp"}).
		thenEvents(PhoneChanged{Phone: "13900139000", Channel: "rsapp"})
	require.Equal(t, "13900139000", c.Profile.Phone)
	given(t, registered()).when(ChangePhone{Phone: "12345"}).thenFieldError("phone", CodeInvalidPhone)
	given(t, registered(), []Event{CardholderErased{CardholderID: testHolderID}}).
		when(ChangePhone{Phone: "13900139000"}).thenError(CodeAlreadyErased)
	// Erasure erases a changed phone too.
	c = Replay(testHolderID, append(registered(), PhoneChanged{Phone: "13900139000"}, CardholderErased{CardholderID: testHolderID}))
	require.Equal(t, ErasedMarker, c.Profile.Phone)
}

func TestAChannelUnlocksOnlyATemporaryLoss(t *testing.T) {
	given(t, temporarilyLost()).when(UnlockCard{CardNo: testCardNo, TemporaryOnly: true}).
		thenEvents(CardUnlocked{CardNo: testCardNo, Lifted: StatusTemporarilyLost})
	given(t, lost()).when(UnlockCard{CardNo: testCardNo, TemporaryOnly: true}).thenError(CodeFormalLossAtCounter)
	given(t, lost()).when(UnlockCard{CardNo: testCardNo}).thenEvents(CardUnlocked{CardNo: testCardNo, Lifted: StatusLost})
}

func TestApplyThroughChannelGoesToTheHoldersBank(t *testing.T) {
	c := given(t, cancelled()).when(ApplyThroughChannel{ApplicationID: "app-2", Channel: "rsapp"}).
		thenEvents(CardApplied{ApplicationID: "app-2", Source: SourceOnline, Kind: Replacement, BankCode: testBank,
			ReplacesCardNo: testCardNo, Channel: "rsapp"})
	require.Equal(t, testBank, c.Card.BankCode)
	given(t, active()).when(ApplyThroughChannel{ApplicationID: "app-2", Channel: "rsapp"}).thenError(CodeValidCardExists)
	given(t, registered()).when(ApplyThroughChannel{ApplicationID: "app-2", Channel: "rsapp"}).thenError(CodeNoBankToRoute)
}

// A lost card is replaced through the channel, e-card and bindings carried.
func TestApplyThroughChannelReplacesALostCard(t *testing.T) {
	for _, tc := range []struct {
		name string
		loss Event
		from CardStatus
	}{
		{"lost", CardReportedLost{CardNo: testCardNo}, StatusLost},
		{"temporarily lost", CardTemporarilyLost{CardNo: testCardNo}, StatusTemporarilyLost},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := given(t, boundTo("rsapp"), []Event{tc.loss}).when(ApplyThroughChannel{ApplicationID: "app-2", Channel: "rsapp"}).
				thenEvents(
					CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: tc.from},
					CardApplied{ApplicationID: "app-2", Source: SourceOnline, Kind: Replacement, BankCode: testBank,
						ReplacesCardNo: testCardNo, Channel: "rsapp"},
					ECardCarriedOver{ApplicationID: "app-2", FromCardNo: testCardNo},
				)
			require.True(t, c.ECardBoundTo("rsapp"))
			require.Equal(t, StatusApplied, c.Status())
		})
	}
	given(t, lost()).when(ApplyThroughChannel{ApplicationID: "app-2", Channel: "rsapp"}).
		thenEvents(
			CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusLost},
			CardApplied{ApplicationID: "app-2", Source: SourceOnline, Kind: Replacement, BankCode: testBank,
				ReplacesCardNo: testCardNo, Channel: "rsapp"},
		)
}

func TestRaiseECardRiskAlert(t *testing.T) {
	at := consentAt
	cmd := RaiseECardRiskAlert{CardNo: testCardNo, FirstRegion: "320505", SecondRegion: "110105",
		FirstAt: at, SecondAt: at.Add(3 * time.Minute), FirstTerminal: "t-sz-1", SecondTerminal: "t-bj-9"}
	c := given(t, boundTo("rsapp")).when(cmd).thenEvents(ECardRiskAlerted{CardNo: testCardNo, FirstRegion: "320505",
		SecondRegion: "110105", FirstAt: at, SecondAt: at.Add(3 * time.Minute), FirstTerminal: "t-sz-1", SecondTerminal: "t-bj-9"})
	require.True(t, c.ECardUsable(), "an alert changes no state")
	bad := cmd
	bad.SecondRegion = "999999"
	given(t, boundTo("rsapp")).when(bad).thenFieldError("second_region", CodeInvalidRegionCode)
}

func TestChannelSuspension(t *testing.T) {
	decide := func(ch *ECardChannel, cmd ChannelCommand) ([]Event, string) {
		t.Helper()
		events, err := DecideChannel(ch, cmd)
		if e, ok := AsError(err); ok {
			return nil, e.Code
		}
		require.NoError(t, err)
		return events, ""
	}
	ch := ECardChannels.New("rsapp")
	events, code := decide(ch, SuspendChannel{Reason: "leaked keys"})
	require.Equal(t, "", code)
	require.Equal(t, []Event{ChannelSuspended{Channel: "rsapp", Reason: "leaked keys"}}, events)
	require.NoError(t, ch.Apply(events[0]))
	require.True(t, ch.Suspended)
	_, code = decide(ch, SuspendChannel{Reason: "again"})
	require.Equal(t, CodeChannelAlreadySuspended, code)
	events, _ = decide(ch, ResumeChannel{Reason: "keys rotated"})
	require.Equal(t, []Event{ChannelResumed{Channel: "rsapp", Reason: "keys rotated"}}, events)
	require.NoError(t, ch.Apply(events[0]))
	require.False(t, ch.Suspended)
	_, code = decide(ch, ResumeChannel{})
	require.Equal(t, CodeChannelNotSuspended, code)
	_, code = decide(ECardChannels.New("rsapp"), SuspendChannel{})
	require.Equal(t, CodeInvalidCommand, code)
	_, code = decide(ECardChannels.New("BAD CODE"), SuspendChannel{Reason: "x"})
	require.Equal(t, CodeInvalidCommand, code)
}

func TestAccessLogRecordsEachAccess(t *testing.T) {
	events, err := DecideAccess(nil, RecordChannelAccess{CardholderID: testHolderID, Channel: "rsapp", Scope: ConsentCardStatus, Operation: "status"})
	require.NoError(t, err)
	require.Equal(t, []Event{ChannelAccessed{CardholderID: testHolderID, Channel: "rsapp", Scope: ConsentCardStatus, Operation: "status"}}, events)
	_, err = DecideAccess(nil, RecordChannelAccess{CardholderID: testHolderID, Channel: "rsapp", Scope: "all", Operation: "status"})
	require.True(t, HasCode(err, CodeInvalidCommand), "%v", err)
}

func TestECardCodecRoundTrips(t *testing.T) {
	for _, e := range []Event{
		ChannelSuspended{Channel: "rsapp", Reason: "r"}, ChannelResumed{Channel: "rsapp", Reason: "r"},
		ChannelAccessed{CardholderID: testHolderID, Channel: "rsapp", Scope: ConsentIdentity, Operation: "code"},
		ChannelAppRegistered{Channel: "icbc-app", Name: "工银e生活", Kind: ChannelICBC, By: "admin"},
		ChannelOpened{Channel: "icbc-app", By: "admin", Reason: "r"}, ChannelClosed{Channel: "icbc-app", By: "admin", Reason: "r"},
	} {
		typ, data, err := EncodeECardEvent(e)
		require.NoError(t, err)
		require.Equal(t, 1, SchemaVersion(typ))
		back, err := DecodeECardEvent(typ, 1, data)
		require.NoError(t, err)
		require.True(t, reflect.DeepEqual(e, back), "%#v", back)
		_, err = DecodeEvent(typ, 1, data)
		require.ErrorIs(t, err, ErrUnknownEventType, "cardholder readers skip the e-card family")
	}
	require.Equal(t, []string{"ChannelSuspended", "ChannelResumed", "ChannelAccessed", "ChannelAppRegistered", "ChannelOpened", "ChannelClosed"}, ECardEventTypes())
}
