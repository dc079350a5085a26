package domain

import (
	"reflect"
	"testing"
)

func TestBatchFilterExpiryCutoffCountsCalendarMonths(t *testing.T) {
	cases := []struct {
		created string
		months  int
		want    string
	}{
		{"2025-03-01", 0, ""},
		{"2025-03-01", 6, "2025-09-01"},
		{"2025-08-31", 6, "2026-02-28"},
		{"2023-08-31", 6, "2024-02-29"},
		{"2025-12-15", 1, "2026-01-15"},
		{"2025-03-01", 120, "2035-03-01"},
	}
	for _, c := range cases {
		got, err := BatchFilter{ExpiringWithinMonths: c.months}.ExpiryCutoff(c.created)
		if err != nil || got != c.want {
			t.Errorf("%s + %d months = %q, %v; want %q", c.created, c.months, got, err, c.want)
		}
	}
	if _, err := (BatchFilter{ExpiringWithinMonths: 1}).ExpiryCutoff("2025-02-30"); err == nil {
		t.Error("an impossible creation date gave a cutoff")
	}
}

func TestBatchFilterCheckNamesEveryBadField(t *testing.T) {
	if got := (BatchFilter{Generation: GenerationThird, ReplacesGeneration: GenerationFirst, ExpiringWithinMonths: 6}).Check(); got != nil {
		t.Fatalf("a good filter: %v", got)
	}
	got := BatchFilter{Source: "fax", Kind: "gift", Generation: GenerationFirst, ReplacesGeneration: "fourth",
		ExpiringWithinMonths: MaxExpiringWithinMonths + 1, Limit: -1}.Check()
	var fields []string
	for _, f := range got {
		fields = append(fields, f.Field)
	}
	want := []string{"filter.source", "filter.kind", "filter.generation", "filter.replaces_generation", "filter.expiring_within_months", "filter.limit"}
	if !reflect.DeepEqual(fields, want) {
		t.Fatalf("fields %v, want %v", fields, want)
	}
}
