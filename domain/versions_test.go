package domain

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"
)

// storedEvent is one line of a stored-log fixture in testdata (written by
// commands' TestWriteV1Fixture).
type storedEvent struct {
	Stream   string          `json:"stream"`
	Revision uint64          `json:"revision"`
	Type     string          `json:"type"`
	Data     json.RawMessage `json:"data"`
	Metadata json.RawMessage `json:"metadata"`
}

func readStoredLog(t *testing.T, path string) []storedEvent {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []storedEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e storedEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("%s line %d: %v", path, len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// foldStoredLog decodes every event through the codec, with the version
// its metadata records, and replays each stream.
func foldStoredLog(t *testing.T, log []storedEvent) (map[string]*Cardholder, map[string][]Event) {
	t.Helper()
	states := map[string]*Cardholder{}
	events := map[string][]Event{}
	for _, ev := range log {
		e, err := DecodeStoredEvent(ev.Type, ev.Data, ev.Metadata)
		if err != nil {
			t.Fatalf("%s revision %d: %v", ev.Stream, ev.Revision, err)
		}
		id, ok := CardholderIDOfStream(ev.Stream)
		if !ok {
			t.Fatalf("stream %s", ev.Stream)
		}
		if states[id] == nil {
			states[id] = NewCardholder(id)
		}
		states[id].Apply(e)
		events[id] = append(events[id], e)
	}
	return states, events
}

// TestV1LogFoldsIntoTodaysState folds the checked-in log of version 1 events
// (three lives through the production write path, written before any type
// had a version 2) through today's codec and Apply, and checks every field
// of the resulting state.
func TestV1LogFoldsIntoTodaysState(t *testing.T) {
	log := readStoredLog(t, "testdata/v1_lifecycle.jsonl")
	for _, ev := range log {
		if v, err := StoredSchemaVersion(ev.Metadata); err != nil || v != 1 {
			t.Fatalf("fixture %s revision %d: version %d, %v", ev.Stream, ev.Revision, v, err)
		}
	}
	states, events := foldStoredLog(t, log)

	const p1, p2, p3 = "944ca06ac5c38727f9a41759ebf9b9a9", "bbd378af78f3a423cfe320d15b26ab0e", "a57339ff2b500262f15776122ed4a2f1"
	if len(states) != 3 {
		t.Fatalf("%d holders", len(states))
	}
	// The version 1 revocations read as version 2 with the cause unrecorded.
	var revoked []Event
	for _, e := range events[p1] {
		if _, ok := e.(ECardRevoked); ok {
			revoked = append(revoked, e)
		}
	}
	assertEqual(t, "p1 revocations", []Event{
		ECardRevoked{CardNo: "A76701317", Cause: ECardCauseUnrecorded, Reason: "holder asked"},
		ECardRevoked{CardNo: "A21167767", Cause: ECardCauseUnrecorded, Reason: "account taken over"},
	}, revoked)

	issued := func(at, agency string) Custody { return Custody{At: CustodyHolder, From: at, Handler: agency} }
	first := Card{ApplicationID: "f96a6aa0-5ff8-5e0c-9d62-34bc0cd71f05", Source: SourceCounter, Kind: FirstIssue,
		PhotoRef: "photos/2026/p1.jpg", CardNo: "A76701317", Status: StatusCancelled, BankCode: "102",
		AccountNo: "6212260200010000001", ChipID: "00112233445566778899aabbccddeeff", Vendor: "vendor-1",
		IssuedOn: "2026-03-02", ExpiresOn: "2036-03-02", Agency: "outlet-futian", Custody: issued("outlet-futian", "outlet-futian"),
		ECardIssued: true, BeforeLoss: StatusActive,
		Cancellation: &Cancellation{Cause: CauseReplacement, From: StatusLost, Reason: "lost"}}
	assertEqual(t, "p1", &Cardholder{ID: p1, Registered: true,
		Profile: Profile{IDNumber: "440304199003070018", Name: "张三", Sex: Male, BirthDate: "1990-03-07", Nationality: "CHN",
			RegionCode: "440304", Phone: "13800138001", EmployerCode: "E1001", CommunityCode: "C2002"},
		Card: &Card{ApplicationID: "413422e6-a1c4-5d4f-a214-272e02f44c70", Source: SourceCounter, Kind: Replacement,
			ReplacesCardNo: "A76701317", PhotoRef: "photos/2026/p1-new.jpg", CardNo: "A21167767", Status: StatusActive,
			BankCode: "102", AccountNo: "6212260200010000002", ChipID: "ffeeddccbbaa99887766554433221100", Vendor: "vendor-2",
			IssuedOn: "2026-03-02", ExpiresOn: "2036-03-02", Agency: "outlet-futian", Custody: issued("vendor", "outlet-futian"),
			ECardRevokedCause: ECardCauseUnrecorded},
		PastCards: []Card{first}, Version: 26}, states[p1])
	assertEqual(t, "p2", &Cardholder{ID: p2, Registered: true,
		Profile: Profile{IDNumber: "440304199003070026", Name: "李四", Sex: Female, BirthDate: "1990-03-07", Nationality: "CHN",
			RegionCode: "440305", Phone: "13800138002", EmployerCode: "E1001", CommunityCode: "C2002"},
		Card: &Card{ApplicationID: "490357a3-876d-5cc9-a3c3-d13bddd7192c", Source: SourceOnline, Kind: FirstIssue,
			CardNo: "A90224576", Status: StatusActive, BankCode: "102", AccountNo: "6212260200020000001",
			ChipID: "0123456789abcdef0123456789abcdef", Vendor: "vendor-1", IssuedOn: "2026-03-02", ExpiresOn: "2036-03-02",
			Agency: "outlet-nanshan", Custody: issued("vendor", "outlet-nanshan")},
		Version: 10}, states[p2])
	assertEqual(t, "p3", &Cardholder{ID: p3, Registered: true,
		Profile: Profile{IDNumber: "440304199003070034", Name: "王芳", Sex: Male, BirthDate: "1990-03-07", Nationality: "CHN",
			RegionCode: "440304", Phone: "13800138003", EmployerCode: "E1001", CommunityCode: "C2002"},
		Card: &Card{ApplicationID: "614afe8c-24dc-508b-b295-d4f6700eebaf", Source: SourceCounter, Kind: FirstIssue,
			CardNo: "A34027324", Status: StatusTransferred, BankCode: "102", AccountNo: "6212260200030000001",
			ChipID: "fedcba9876543210fedcba9876543210", Vendor: "vendor-1", IssuedOn: "2026-03-02", ExpiresOn: "2036-03-02",
			Agency: "outlet-futian", Custody: issued("vendor", "outlet-futian"), ECardIssued: true, TransferredTo: "110105"},
		Version: 9}, states[p3])
}

func assertEqual(t *testing.T, what string, want, got any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		w, _ := json.MarshalIndent(want, "", " ")
		g, _ := json.MarshalIndent(got, "", " ")
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

func TestDecodeByVersion(t *testing.T) {
	v1 := []byte(`{"card_no":"A12345678","reason":"holder asked"}`)
	e, err := DecodeEvent("ECardRevoked", 1, v1)
	assertEqual(t, "v1", ECardRevoked{CardNo: testCardNo, Cause: ECardCauseUnrecorded, Reason: "holder asked"}, e)
	if err != nil {
		t.Fatal(err)
	}
	// The same bytes at version 2 are a version 2 event without a cause:
	// the version, not the shape, says how to read.
	e, err = DecodeEvent("ECardRevoked", 2, v1)
	assertEqual(t, "v2", ECardRevoked{CardNo: testCardNo, Reason: "holder asked"}, e)
	if err != nil {
		t.Fatal(err)
	}
	// Upcasting then re-encoding gives the stored form of version 2.
	_, data, err := EncodeEvent(ECardRevoked{CardNo: testCardNo, Cause: ECardCauseUnrecorded, Reason: "holder asked"})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"card_no":"A12345678","cause":"unrecorded","reason":"holder asked"}`; string(data) != want {
		t.Fatalf("v2 stored form %s, want %s", data, want)
	}

	for _, v := range []int{0, -1, 3} {
		_, err := DecodeEvent("ECardRevoked", v, v1)
		var uv *UnknownVersionError
		if !errors.As(err, &uv) || !errors.Is(err, ErrUnknownSchemaVersion) || errors.Is(err, ErrUnknownEventType) {
			t.Fatalf("version %d: %v", v, err)
		}
		assertEqual(t, "unknown version", UnknownVersionError{Type: "ECardRevoked", Version: v, Current: 2}, *uv)
	}
	if _, err := DecodeEvent("CardActivated", 2, []byte(`{"card_no":"A12345678"}`)); !errors.Is(err, ErrUnknownSchemaVersion) {
		t.Fatalf("CardActivated v2: %v", err)
	}
	// A damaged version 1 payload fails in the upcaster, as a decode error.
	if _, err := DecodeEvent("ECardRevoked", 1, []byte(`{"card_no":`)); err == nil || errors.Is(err, ErrUnknownSchemaVersion) {
		t.Fatalf("bad v1: %v", err)
	}
}

func TestDecodeStoredEventReadsTheVersionFromMetadata(t *testing.T) {
	v1 := []byte(`{"card_no":"A12345678","reason":"r"}`)
	unrecorded := ECardRevoked{CardNo: testCardNo, Cause: ECardCauseUnrecorded, Reason: "r"}
	for _, tc := range []struct {
		name     string
		metadata string
		want     Event
		version  int
	}{
		{"as Metadata marshals it", `{"event_id":"4473a2fb-44b4-57b6-9cf1-b0a8e2bbc880","schema_version":1,"occurred_at":"2026-03-02T01:37:00Z"}`, unrecorded, 1},
		{"other key order", `{"occurred_at":"2026-03-02T01:37:00Z","schema_version":1,"event_id":"x"}`, unrecorded, 1},
		{"spaces", `{"event_id": "4473a2fb-44b4-57b6-9cf1-b0a8e2bbc880", "schema_version": 2}`, ECardRevoked{CardNo: testCardNo, Reason: "r"}, 2},
		{"no version: written before versions were read", `{"actor":{"client":"audit"}}`, unrecorded, 1},
		{"no metadata", ``, unrecorded, 1},
		{"version 2", `{"event_id":"4473a2fb-44b4-57b6-9cf1-b0a8e2bbc880","schema_version":2}`, ECardRevoked{CardNo: testCardNo, Reason: "r"}, 2},
	} {
		v, err := StoredSchemaVersion([]byte(tc.metadata))
		if err != nil || v != tc.version {
			t.Errorf("%s: version %d, %v", tc.name, v, err)
		}
		e, err := DecodeStoredEvent("ECardRevoked", v1, []byte(tc.metadata))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
		assertEqual(t, tc.name, tc.want, e)
	}
	if _, err := DecodeStoredEvent("ECardRevoked", v1, []byte(`{"event_id":"4473a2fb-44b4-57b6-9cf1-b0a8e2bbc880","schema_version":9}`)); !errors.Is(err, ErrUnknownSchemaVersion) {
		t.Fatalf("version 9: %v", err)
	}
	if _, err := DecodeStoredEvent("ECardRevoked", v1, []byte(`{"schema_version":`)); err == nil {
		t.Fatal("bad metadata decoded")
	}
	// An unknown type is unknown whatever its metadata: projections skip it.
	if _, err := DecodeStoredEvent("BatchCreated", v1, []byte(`not json`)); !errors.Is(err, ErrUnknownEventType) {
		t.Fatalf("unknown type: %v", err)
	}
}

// The fast metadata path and encoding/json agree on every fixture line.
func TestFastSchemaVersionAgreesWithJSON(t *testing.T) {
	for _, ev := range readStoredLog(t, "testdata/v1_lifecycle.jsonl") {
		v, ok := fastSchemaVersion(ev.Metadata)
		var m Metadata
		if err := json.Unmarshal(ev.Metadata, &m); err != nil || !ok || v != m.SchemaVersion {
			t.Fatalf("%s: fast %d %v, json %d %v", ev.Metadata, v, ok, m.SchemaVersion, err)
		}
	}
}

func TestSchemaVersionOfEveryFamily(t *testing.T) {
	for typ, want := range map[string]int{"ECardRevoked": 2, "CardIssued": 1, "BatchCreated": 1, "PSAMLost": 1, "ChannelSuspended": 1, "ConsentGranted": 1,
		TypePermissionApproved: 1, UsageEventType: 1, TypeMerchantRegistered: 1, TypePaymentOrderRefunded: 1, "CardTeleported": 0, "AuditDigestSigned": 0} {
		if got := SchemaVersion(typ); got != want {
			t.Errorf("%s: version %d, want %d", typ, got, want)
		}
	}
}
