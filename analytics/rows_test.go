package analytics

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cardledger/cardledger/domain"
)

func TestParseFen(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "0": 0, "12": 1200, "12.5": 1250, "12.50": 1250, "0.01": 1, "99999.99": 9999999} {
		got, err := parseFen(in)
		if err != nil || got != want {
			t.Errorf("parseFen(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"1.005", "-1", "1e3", ".5", "1,5", "12.a"} {
		if _, err := parseFen(bad); err == nil {
			t.Errorf("parseFen(%q) accepted", bad)
		}
	}
}

func TestFastUsageDecodeAgreesWithEncodingJSON(t *testing.T) {
	at := time.Date(2025, 3, 10, 1, 30, 0, 123000000, time.UTC)
	records := []domain.UsageRecorded{
		{RecordID: "r-1", CardNo: "A12345678", At: at, Kind: domain.UsagePharmacyPurchase,
			Amount: decimal.RequireFromString("12.5"), RegionCode: "320505", Merchant: "老百姓大药房", Category: "drugs",
			Channel: domain.ChannelCard},
		{RecordID: "r-2", CardNo: "A12345678", At: at, Kind: domain.UsageIdentityAuth, RegionCode: "110105",
			Channel: domain.ChannelOnline}, // empty merchant and category are omitted
		{RecordID: `quote"and\backslash`, CardNo: "A12345678", At: at, Kind: domain.UsageOther,
			Amount: decimal.RequireFromString("0.01"), RegionCode: "320505", Merchant: "tab\there", Channel: domain.ChannelCard},
	}
	for _, r := range records {
		data, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeUsageFact(data)
		if err != nil {
			t.Fatal(err)
		}
		var want usageFact
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		want.fen = r.Amount.Shift(2).IntPart()
		if got != want {
			t.Errorf("decoded %+v, want %+v", got, want)
		}
	}
	for _, bad := range []string{`{"amount":12}`, `[]`, `{"record_id":"x"`, `{"record_id":"x"} trailing`} {
		if _, ok := decodeUsageFast([]byte(bad)); ok {
			t.Errorf("fast path accepted %s", bad)
		}
	}
}

func BenchmarkDecodeUsage(b *testing.B) {
	data, _ := json.Marshal(domain.UsageRecorded{RecordID: "hosp-42-000123", CardNo: "A12345678",
		At: time.Now(), Kind: domain.UsageMedicalSettlement, Amount: decimal.RequireFromString("128.40"),
		RegionCode: "320508", Merchant: "苏州市立医院", Category: "medical_treatment", Channel: domain.ChannelCard})
	b.Run("fast", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := decodeUsageFact(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var f usageFact
			if err := json.Unmarshal(data, &f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
