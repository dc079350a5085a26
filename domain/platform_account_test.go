package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

var accountAt = time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)

func givenAccount(events ...Event) *PlatformAccount {
	a := &PlatformAccount{}
	for _, e := range events {
		a.Apply(e)
	}
	return a
}

func accountRegistered() PlatformAccountRegistered {
	return PlatformAccountRegistered{AccountID: "acc-1", Name: "济宁某某科技有限公司", CreditCode: "91350100M000100Y43",
		Contact: AccountContact{Name: "王工", Phone: "13800000000"}, At: accountAt}
}

func accountApproved() PlatformAccountApproved {
	return PlatformAccountApproved{AccountID: "acc-1", ApprovedBy: "city-admin", At: accountAt}
}

func appCreated() PlatformAppCreated {
	return PlatformAppCreated{AccountID: "acc-1", AppID: "app-1", Name: "门诊身份核验", Type: AppIdentityReading,
		Channels: []string{AppChannelCard, AppChannelECardQR}, PerMinute: 60, PerDay: 10000, By: "acc-1-admin", At: accountAt}
}

func TestAccountLifecycle(t *testing.T) {
	cases := []struct {
		name  string
		given []Event
		cmd   PlatformAccountCommand
		want  []Event
	}{
		{"register", nil, RegisterPlatformAccount(accountRegistered()), []Event{accountRegistered()}},
		{"approve", []Event{accountRegistered()}, ApprovePlatformAccount{By: "city-admin", At: accountAt},
			[]Event{accountApproved()}},
		{"reject", []Event{accountRegistered()}, RejectPlatformAccount{By: "city-admin", Reason: "no licence", At: accountAt},
			[]Event{PlatformAccountRejected{AccountID: "acc-1", RejectedBy: "city-admin", Reason: "no licence", At: accountAt}}},
		{"register again after a rejection", []Event{accountRegistered(),
			PlatformAccountRejected{AccountID: "acc-1", RejectedBy: "city-admin", Reason: "no licence"}},
			RegisterPlatformAccount(accountRegistered()), []Event{accountRegistered()}},
		{"approve after registering again", []Event{accountRegistered(),
			PlatformAccountRejected{AccountID: "acc-1", RejectedBy: "city-admin", Reason: "no licence"}, accountRegistered()},
			ApprovePlatformAccount{By: "city-admin", At: accountAt}, []Event{accountApproved()}},
		{"create app", []Event{accountRegistered(), accountApproved()}, CreatePlatformApp(appCreated()),
			[]Event{appCreated()}},
		{"rotate", []Event{accountRegistered(), accountApproved(), appCreated()},
			RotatePlatformAppKey{AppID: "app-1", By: "acc-1-admin", At: accountAt},
			[]Event{PlatformAppSecretRotated{AccountID: "acc-1", AppID: "app-1", By: "acc-1-admin", At: accountAt}}},
		{"register a public key, URL-safe and unpadded", []Event{accountRegistered(), accountApproved(), appCreated()},
			RegisterPlatformAppPublicKey{AppID: "app-1", PublicKey: "A-_" + strings.Repeat("A", 40), By: "acc-1-admin", At: accountAt},
			[]Event{PlatformAppPublicKeyRegistered{AccountID: "acc-1", AppID: "app-1", PublicKey: "A+/" + strings.Repeat("A", 40) + "=",
				By: "acc-1-admin", At: accountAt}}},
		{"change channels", []Event{accountRegistered(), accountApproved(), appCreated()},
			ChangePlatformAppChannels{AppID: "app-1", Channels: []string{AppChannelECardOnline}, By: "acc-1-admin", At: accountAt},
			[]Event{PlatformAppChannelsChanged{AccountID: "acc-1", AppID: "app-1", Channels: []string{AppChannelECardOnline},
				By: "acc-1-admin", At: accountAt}}},
		{"the same channels in another order: nothing", []Event{accountRegistered(), accountApproved(), appCreated()},
			ChangePlatformAppChannels{AppID: "app-1", Channels: []string{AppChannelECardQR, AppChannelCard}, By: "x", At: accountAt}, nil},
		{"change channels back", []Event{accountRegistered(), accountApproved(), appCreated(),
			PlatformAppChannelsChanged{AccountID: "acc-1", AppID: "app-1", Channels: []string{AppChannelECardOnline}}},
			ChangePlatformAppChannels{AppID: "app-1", Channels: []string{AppChannelCard, AppChannelECardQR}, By: "x", At: accountAt},
			[]Event{PlatformAppChannelsChanged{AccountID: "acc-1", AppID: "app-1", Channels: []string{AppChannelCard, AppChannelECardQR},
				By: "x", At: accountAt}}},
		{"change quotas", []Event{accountRegistered(), accountApproved(), appCreated()},
			ChangePlatformAppQuotas{AppID: "app-1", PerMinute: 5, PerDay: 5, By: "city-admin", At: accountAt},
			[]Event{PlatformAppQuotasChanged{AccountID: "acc-1", AppID: "app-1", PerMinute: 5, PerDay: 5, By: "city-admin", At: accountAt}}},
		{"the same quotas: nothing", []Event{accountRegistered(), accountApproved(), appCreated()},
			ChangePlatformAppQuotas{AppID: "app-1", PerMinute: 60, PerDay: 10000, By: "city-admin", At: accountAt}, nil},
		{"quotas after a change", []Event{accountRegistered(), accountApproved(), appCreated(),
			PlatformAppQuotasChanged{AccountID: "acc-1", AppID: "app-1", PerMinute: 5, PerDay: 5}},
			ChangePlatformAppQuotas{AppID: "app-1", PerMinute: 60, PerDay: 10000, By: "city-admin", At: accountAt},
			[]Event{PlatformAppQuotasChanged{AccountID: "acc-1", AppID: "app-1", PerMinute: 60, PerDay: 10000, By: "city-admin", At: accountAt}}},
		{"revoke", []Event{accountRegistered(), accountApproved(), appCreated()},
			RevokePlatformApp{AppID: "app-1", By: "acc-1-admin", At: accountAt},
			[]Event{PlatformAppRevoked{AccountID: "acc-1", AppID: "app-1", By: "acc-1-admin", At: accountAt}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecidePlatformAccount(givenAccount(c.given...), c.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got %#v\nwant %#v", got, c.want)
			}
		})
	}
}

func TestAccountRefusals(t *testing.T) {
	revoked := PlatformAppRevoked{AccountID: "acc-1", AppID: "app-1"}
	rejected := PlatformAccountRejected{AccountID: "acc-1", RejectedBy: "city-admin"}
	cases := []struct {
		name  string
		given []Event
		cmd   PlatformAccountCommand
		code  string
	}{
		{"registered twice", []Event{accountRegistered()}, RegisterPlatformAccount(accountRegistered()), CodeCreditCodeRegistered},
		{"registered again once approved", []Event{accountRegistered(), accountApproved()}, RegisterPlatformAccount(accountRegistered()),
			CodeCreditCodeRegistered},
		{"approve unknown", nil, ApprovePlatformAccount{By: "a"}, CodeAccountNotFound},
		{"approve twice", []Event{accountRegistered(), accountApproved()}, ApprovePlatformAccount{By: "a"}, CodeAccountDecided},
		{"reject approved", []Event{accountRegistered(), accountApproved()}, RejectPlatformAccount{By: "a"}, CodeAccountDecided},
		{"app of a pending account", []Event{accountRegistered()}, CreatePlatformApp(appCreated()), CodeAccountNotApproved},
		{"app of a rejected account", []Event{accountRegistered(), rejected}, CreatePlatformApp(appCreated()), CodeAccountNotApproved},
		{"app id reused", []Event{accountRegistered(), accountApproved(), appCreated()}, CreatePlatformApp(appCreated()), CodeAppExists},
		{"rotate unknown app", []Event{accountRegistered(), accountApproved()}, RotatePlatformAppKey{AppID: "app-9"}, CodeAppNotFound},
		{"rotate revoked app", []Event{accountRegistered(), accountApproved(), appCreated(), revoked}, RotatePlatformAppKey{AppID: "app-1"}, CodeAppRevoked},
		{"revoke twice", []Event{accountRegistered(), accountApproved(), appCreated(), revoked}, RevokePlatformApp{AppID: "app-1"}, CodeAppRevoked},
		{"key of a revoked app", []Event{accountRegistered(), accountApproved(), appCreated(), revoked},
			RegisterPlatformAppPublicKey{AppID: "app-1", PublicKey: validKey}, CodeAppRevoked},
		{"channels of a revoked app", []Event{accountRegistered(), accountApproved(), appCreated(), revoked},
			ChangePlatformAppChannels{AppID: "app-1", Channels: []string{AppChannelCard}}, CodeAppRevoked},
		{"quotas of a revoked app", []Event{accountRegistered(), accountApproved(), appCreated(), revoked},
			ChangePlatformAppQuotas{AppID: "app-1", PerMinute: 1, PerDay: 1}, CodeAppRevoked},
		{"quotas of an unknown app", []Event{accountRegistered(), accountApproved()},
			ChangePlatformAppQuotas{AppID: "app-9", PerMinute: 1, PerDay: 1}, CodeAppNotFound},
		{"channels of an unknown app", []Event{accountRegistered(), accountApproved()},
			ChangePlatformAppChannels{AppID: "app-9", Channels: []string{AppChannelCard}}, CodeAppNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecidePlatformAccount(givenAccount(c.given...), c.cmd)
			if !HasCode(err, c.code) || got != nil {
				t.Fatalf("got %v, %v; want %s", got, err, c.code)
			}
		})
	}
}

// validKey is an Ed25519 public key (of the seed 32 × 0x01) in base64.
const validKey = "iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w="

func keyOf(k string) func() PlatformAccountCommand {
	return func() PlatformAccountCommand { return RegisterPlatformAppPublicKey{AppID: "app-1", PublicKey: k} }
}

func TestAccountFieldErrors(t *testing.T) {
	approved := []Event{accountRegistered(), accountApproved()}
	withApp := []Event{accountRegistered(), accountApproved(), appCreated()}
	cases := []struct {
		name  string
		given []Event
		cmd   func() PlatformAccountCommand
		field string
		code  string
	}{
		{"credit code check character", nil, func() PlatformAccountCommand {
			r := accountRegistered()
			r.CreditCode = "91350100M000100Y44"
			return RegisterPlatformAccount(r)
		}, "credit_code", CodeInvalidCreditCode},
		{"no name", nil, func() PlatformAccountCommand {
			r := accountRegistered()
			r.Name = " "
			return RegisterPlatformAccount(r)
		}, "name", CodeRequired},
		{"contact phone", nil, func() PlatformAccountCommand {
			r := accountRegistered()
			r.Contact.Phone = "02512345678"
			return RegisterPlatformAccount(r)
		}, "contact.phone", CodeInvalidPhone},
		{"no contact", nil, func() PlatformAccountCommand {
			r := accountRegistered()
			r.Contact = AccountContact{}
			return RegisterPlatformAccount(r)
		}, "contact", CodeRequired},
		{"app type", approved, func() PlatformAccountCommand { a := appCreated(); a.Type = "payroll"; return CreatePlatformApp(a) }, "type", CodeInvalidAppType},
		{"no channel", approved, func() PlatformAccountCommand { a := appCreated(); a.Channels = nil; return CreatePlatformApp(a) }, "channels", CodeRequired},
		{"unknown channel", approved, func() PlatformAccountCommand {
			a := appCreated()
			a.Channels = []string{"wechat"}
			return CreatePlatformApp(a)
		}, "channels", CodeInvalidAppChannel},
		{"channel twice", approved, func() PlatformAccountCommand {
			a := appCreated()
			a.Channels = []string{AppChannelCard, AppChannelCard}
			return CreatePlatformApp(a)
		}, "channels", CodeInvalidAppChannel},
		{"zero per minute", approved, func() PlatformAccountCommand { a := appCreated(); a.PerMinute = 0; return CreatePlatformApp(a) }, "per_minute", CodeInvalidQuota},
		{"public key: 31 bytes", withApp, keyOf(strings.Repeat("A", 42)), "public_key", CodeInvalidPublicKey},
		{"public key: hex", withApp, keyOf(strings.Repeat("ab", 32)), "public_key", CodeInvalidPublicKey},
		{"public key: PEM", withApp, keyOf("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA" + validKey[:43] + "\n-----END PUBLIC KEY-----"),
			"public_key", CodeInvalidPublicKey},
		{"public key: all zero", withApp, keyOf(strings.Repeat("A", 43) + "="), "public_key", CodeInvalidPublicKey},
		{"public key: none", withApp, keyOf(""), "public_key", CodeInvalidPublicKey},
		{"changed to no channel", withApp, func() PlatformAccountCommand { return ChangePlatformAppChannels{AppID: "app-1"} },
			"channels", CodeRequired},
		{"changed to an unknown channel", withApp, func() PlatformAccountCommand {
			return ChangePlatformAppChannels{AppID: "app-1", Channels: []string{"wechat"}}
		}, "channels", CodeInvalidAppChannel},
		{"quota over the bound", withApp, func() PlatformAccountCommand {
			return ChangePlatformAppQuotas{AppID: "app-1", PerMinute: MaxAppPerMinute + 1, PerDay: MaxAppPerDay}
		}, "per_minute", CodeInvalidQuota},
		{"changed day below minute", withApp, func() PlatformAccountCommand {
			return ChangePlatformAppQuotas{AppID: "app-1", PerMinute: 10, PerDay: 9}
		}, "per_day", CodeInvalidQuota},
		{"day below minute", approved, func() PlatformAccountCommand { a := appCreated(); a.PerDay = 10; return CreatePlatformApp(a) }, "per_day", CodeInvalidQuota},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecidePlatformAccount(givenAccount(c.given...), c.cmd())
			de, ok := AsError(err)
			if !ok || got != nil || len(de.Fields) != 1 || de.Fields[0].Field != c.field || de.Fields[0].Code != c.code {
				t.Fatalf("got %v, %v; want one %s error on %s", got, err, c.code, c.field)
			}
		})
	}
}

func TestAccountEventsRoundTrip(t *testing.T) {
	for _, e := range []Event{accountRegistered(), accountApproved(), appCreated(),
		PlatformAppSecretRotated{AccountID: "acc-1", AppID: "app-1", By: "x", At: accountAt},
		PlatformAppPublicKeyRegistered{AccountID: "acc-1", AppID: "app-1", PublicKey: validKey, By: "x", At: accountAt},
		PlatformAppChannelsChanged{AccountID: "acc-1", AppID: "app-1", Channels: []string{AppChannelCard}, By: "x", At: accountAt},
		PlatformAppQuotasChanged{AccountID: "acc-1", AppID: "app-1", PerMinute: 1, PerDay: 2, By: "x", At: accountAt}} {
		typ, data, err := PlatformAccounts.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := platformAccountCodec.decode(typ, 1, data)
		if err != nil || !reflect.DeepEqual(back, e) {
			t.Fatalf("%s: %#v, %v", typ, back, err)
		}
	}
}
