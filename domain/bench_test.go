package domain

import (
	"encoding/json"
	"testing"
)

// A holder with a long history: the card lost and unlocked 50 times.
func longHistory() []Event {
	h := active()
	for range 50 {
		h = append(h, CardReportedLost{CardNo: testCardNo}, CardUnlocked{CardNo: testCardNo, Lifted: StatusLost})
	}
	return h
}

func BenchmarkReplayAndDecide(b *testing.B) {
	h := longHistory()
	b.ReportAllocs()
	for b.Loop() {
		c := Replay(testHolderID, h)
		if _, err := Decide(c, ReportLoss{CardNo: testCardNo}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	typ, data, err := EncodeEvent(CardholderRegistered{CardholderID: testHolderID, IDNumber: testIDNumber, Name: "张三",
		Sex: Male, BirthDate: "1990-03-07", Nationality: "CHN", RegionCode: "320505"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(typ, 1, data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateIDNumber(b *testing.B) {
	for b.Loop() {
		if err := ValidateIDNumber(testIDNumber); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoredSchemaVersion(b *testing.B) {
	md, err := json.Marshal(Metadata{EventID: "4473a2fb-44b4-57b6-9cf1-b0a8e2bbc880", SchemaVersion: 1,
		OccurredAt: testDay, Actor: Actor{Client: "counter-futian", Operator: "op-017"}, Channel: "http",
		CorrelationID: "c", CausationID: "4473a2fb-44b4-57b6-9cf1-b0a8e2bbc880", RemoteAddr: "10.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if v, err := StoredSchemaVersion(md); v != 1 || err != nil {
				b.Fatal(v, err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		var m struct {
			SchemaVersion *int `json:"schema_version"`
		}
		for b.Loop() {
			if err := json.Unmarshal(md, &m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
