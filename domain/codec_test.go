package domain

import (
	"errors"
	"reflect"
	"testing"
)

// oneOfEach has a fully populated value of every event type.
func oneOfEach() []Event {
	return []Event{
		CardholderRegistered{CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三", Sex: Male, BirthDate: "1990-03-07",
			Nationality: "CHN", RegionCode: "320505", Phone: "13800138000", EmployerCode: "E1", CommunityCode: "C1"},
		CardApplied{ApplicationID: testApp, Source: SourceBank, Kind: Replacement, BankCode: testBank, PhotoRef: "p", ReplacesCardNo: otherCardNo, Channel: "rsapp"},
		BankAccountOpened{ApplicationID: testApp, BankCode: testBank, AccountNo: testAccount},
		BankAccountRefused{ApplicationID: testApp, BankCode: testBank, Reason: "r"},
		CardNumberAssigned{ApplicationID: testApp, CardNo: testCardNo},
		CardProduced{CardNo: testCardNo, ChipID: testChipID, Vendor: "acme"},
		CardProductionFailed{CardNo: testCardNo, Reason: "r"},
		CardHandedOver{CardNo: testCardNo, From: "vendor", To: "outlet", Handler: "h"},
		CardIssued{CardNo: testCardNo, IssuedOn: "2024-03-01", ExpiresOn: "2034-03-01", Agency: "a"},
		CardActivated{CardNo: testCardNo},
		CardReportedLost{CardNo: testCardNo, Reason: "r"},
		CardTemporarilyLost{CardNo: testCardNo, Reason: "r"},
		CardUnlocked{CardNo: testCardNo, Lifted: StatusLost, Reason: "r"},
		CardCancelled{CardNo: testCardNo, Cause: CauseDeath, From: StatusActive, Reason: "r"},
		CardCancellationRestored{CardNo: testCardNo, To: StatusActive, Reason: "r"},
		PINReset{CardNo: testCardNo},
		PINChanged{CardNo: testCardNo},
		CardholderTransferredOut{CardNo: testCardNo, FromRegion: "320505", ToRegion: "110105", Reason: "r"},
		ECardIssued{CardNo: testCardNo, Channel: "rsapp"},
		ECardRevoked{CardNo: testCardNo, Cause: ECardCauseMisuse, Reason: "r"},
		CardholderErased{CardholderID: testHolderID},
		ECardChannelBound{CardNo: testCardNo, Channel: "icbc-app"},
		ECardChannelUnbound{CardNo: testCardNo, Channel: "icbc-app", Reason: "r"},
		ECardCarriedOver{ApplicationID: testApp, FromCardNo: otherCardNo},
		ConsentGranted{Channel: "rsapp", Scopes: []ConsentScope{ConsentIdentity, ConsentContact},
			GrantedAt: testDayUTC(2026, 1, 2, 3), ExpiresAt: testDayUTC(2027, 1, 2, 3)},
		ConsentRevoked{Channel: "rsapp", Reason: "r"},
		CardCancellationRequested{CardNo: testCardNo, Channel: "rsapp", Reason: "r"},
		PhoneChanged{Phone: "13900139000", Channel: "rsapp", Reason: "typo at registration"},
		ECardRiskAlerted{CardNo: testCardNo, FirstRegion: "320505", SecondRegion: "110105",
			FirstAt: testDayUTC(2026, 1, 2, 3), SecondAt: testDayUTC(2026, 1, 2, 4), FirstTerminal: "t1", SecondTerminal: "t2"},
		CardholderMigrated{CardholderID: testHolderID, SourceFile: "f.csv", SourceSHA256: "ab", Line: 2},
		LegacyCardRecorded{CardNo: testCardNo, IssuedOn: "2009-01-02", ExpiresOn: "2019-01-02", Status: StatusActive, Generation: GenerationFirst},
		PersonalDataCorrected{Field: CorrectPhotoRef, PhotoRef: "photo/2.jpg", ApplicationID: testApp, Reason: "wrong photo"},
		IdentityMovedOut{ToCardholderID: "new-holder", ReplacedCardNo: testCardNo, Reason: "ID number changed"},
		IdentityMovedIn{FromCardholderID: testHolderID, ReplacesCardNo: testCardNo, Reason: "ID number changed"},
		NotificationPreferencesSet{SMSOptOut: true, Channel: "rsapp"},
		PhotoCollected{Photo: testPhoto},
		CardTransferredIn{CardNo: otherCardNo, FromRegion: "110105", ToRegion: "320505", Status: StatusActive,
			IssuedOn: "2020-06-01", ExpiresOn: "2030-06-01", BankCode: "105", Generation: GenerationSecond, Reason: "r"},
		ProvincialRecordCancelled{CardNo: testCardNo, Reason: "r"},
		ReplacementFeeAssessed{ApplicationID: testApp, AmountFen: 2000, Exemption: FeeExemptHardship, AssessedOn: "2026-01-02"},
		ReplacementFeePaid{ApplicationID: testApp, PaymentID: "pos-1", AmountFen: 2000, Terminal: "t1", PaidAt: testDayUTC(2026, 1, 2, 3)},
	}
}

func TestCodecRoundTripsEveryEventType(t *testing.T) {
	events := oneOfEach()
	types := EventTypes()
	if len(events) != len(types) {
		t.Fatalf("%d sample events for %d types", len(events), len(types))
	}
	for i, e := range events {
		typ, data, err := EncodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		if typ != types[i] || typ != e.EventType() {
			t.Errorf("type %s, want %s", typ, types[i])
		}
		want := 1
		if typ == "ECardRevoked" {
			want = 2
		}
		if SchemaVersion(typ) != want {
			t.Errorf("%s schema version %d, want %d", typ, SchemaVersion(typ), want)
		}
		back, err := DecodeEvent(typ, SchemaVersion(typ), data)
		if err != nil {
			t.Fatalf("decode %s: %v", typ, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Errorf("round trip %s:\n got %#v\nwant %#v", typ, back, e)
		}
	}
}

func TestCodecStoredForm(t *testing.T) {
	// The JSON names are the stored contract.
	_, data, err := EncodeEvent(CardCancelled{CardNo: testCardNo, Cause: CauseReplacement, From: StatusLost})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"card_no":"A12345678","cause":"replacement","from":"lost"}`; string(data) != want {
		t.Fatalf("got %s, want %s", data, want)
	}
	// Pointers encode like values.
	typ, _, err := EncodeEvent(&CardActivated{CardNo: testCardNo})
	if err != nil || typ != "CardActivated" {
		t.Fatal(typ, err)
	}
}

func TestDecodeUnknownEventType(t *testing.T) {
	_, err := DecodeEvent("CardTeleported", 1, []byte(`{}`))
	if !errors.Is(err, ErrUnknownEventType) {
		t.Fatalf("got %v", err)
	}
	if SchemaVersion("CardTeleported") != 0 {
		t.Fatal("unknown type has a schema version")
	}
	if _, _, err := EncodeEvent(unknownEvent{}); !errors.Is(err, ErrUnknownEventType) {
		t.Fatalf("encode unknown: %v", err)
	}
	if _, _, err := EncodeEvent(nil); err == nil {
		t.Fatal("encoded nil")
	}
}

func TestDecodeIgnoresUnknownFieldsAndRejectsBadJSON(t *testing.T) {
	e, err := DecodeEvent("CardActivated", 1, []byte(`{"card_no":"A12345678","added_later":1}`))
	if err != nil || e != (CardActivated{CardNo: testCardNo}) {
		t.Fatal(e, err)
	}
	if _, err := DecodeEvent("CardActivated", 1, []byte(`{"card_no":`)); err == nil || errors.Is(err, ErrUnknownEventType) {
		t.Fatalf("got %v", err)
	}
}

func TestReplayOfDecodedEvents(t *testing.T) {
	var decoded []Event
	for _, e := range active() {
		typ, data, err := EncodeEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecodeEvent(typ, SchemaVersion(typ), data)
		if err != nil {
			t.Fatal(err)
		}
		decoded = append(decoded, back)
	}
	c := Replay(testHolderID, decoded)
	if c.Status() != StatusActive || c.Version != len(decoded) {
		t.Fatalf("status %s version %d", c.Status(), c.Version)
	}
}

type unknownEvent struct{}

func (unknownEvent) EventType() string { return "CardTeleported" }
