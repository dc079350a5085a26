package domain

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestParseUsage(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	good := UsageInput{
		ID: "r-1", CardNo: "A12345678", At: "2025-03-10T09:30:00+08:00", Kind: "pharmacy_purchase",
		Amount: "12.50", RegionCode: "320505", Merchant: "老百姓大药房", Category: "drugs", Channel: "card",
	}
	u, errs := ParseUsage(good, now)
	if len(errs) != 0 {
		t.Fatalf("good record refused: %v", errs)
	}
	if !u.Amount.Equal(decimal.RequireFromString("12.5")) || u.At != time.Date(2025, 3, 10, 1, 30, 0, 0, time.UTC) {
		t.Fatalf("parsed %+v", u)
	}

	cases := []struct {
		name  string
		edit  func(*UsageInput)
		field string
		code  string
	}{
		{"missing id", func(in *UsageInput) { in.ID = " " }, "id", CodeRequired},
		{"bad card number", func(in *UsageInput) { in.CardNo = "12345678" }, "card_no", CodeInvalidCardNo},
		{"time not RFC 3339", func(in *UsageInput) { in.At = "2025-03-10 09:30" }, "at", CodeInvalidValue},
		{"time in the future", func(in *UsageInput) { in.At = "2025-03-10T12:06:00Z" }, "at", CodeUsageInFuture},
		{"unknown kind", func(in *UsageInput) { in.Kind = "gambling" }, "kind", CodeInvalidValue},
		{"unknown channel", func(in *UsageInput) { in.Channel = "fax" }, "channel", CodeInvalidValue},
		{"negative amount", func(in *UsageInput) { in.Amount = "-0.01" }, "amount", CodeNegativeAmount},
		{"fractions of fen", func(in *UsageInput) { in.Amount = "1.005" }, "amount", CodeInvalidValue},
		{"amount not a number", func(in *UsageInput) { in.Amount = "12,50" }, "amount", CodeInvalidValue},
		{"bad region code", func(in *UsageInput) { in.RegionCode = "990000" }, "region_code", CodeInvalidRegionCode},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := good
			c.edit(&in)
			_, errs := ParseUsage(in, now)
			if len(errs) != 1 || errs[0].Field != c.field || errs[0].Code != c.code {
				t.Fatalf("errors = %+v, want one %s/%s", errs, c.field, c.code)
			}
		})
	}
}

func TestUsageStreamIsPerCardAndChinaMonth(t *testing.T) {
	// 2025-03-31T20:00Z is already April 1st in China.
	at := time.Date(2025, 3, 31, 20, 0, 0, 0, time.UTC)
	if got := UsageStream("A12345678", at); got != "usage-A12345678-202504" {
		t.Fatalf("UsageStream = %s", got)
	}
	if UsageEventID("r-1") != UsageEventID("r-1") || UsageEventID("r-1") == UsageEventID("r-2") {
		t.Fatal("event ids are not a function of the record id")
	}
}
