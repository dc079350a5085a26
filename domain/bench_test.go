package domain

import "testing"

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
