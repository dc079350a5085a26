package domain

import (
	"fmt"
	"time"
)

// MaxExpiringWithinMonths bounds BatchFilter.ExpiringWithinMonths: a card
// is valid ValidityYears, so a longer horizon selects every card.
const MaxExpiringWithinMonths = ValidityYears * 12

// Check returns a field error for every filter field that cannot select
// anything, named "filter.<field>", all at once.
func (f BatchFilter) Check() []FieldError {
	var out []FieldError
	bad := func(field, format string, args ...any) {
		out = append(out, FieldError{Field: "filter." + field, Code: CodeInvalidValue, Message: fmt.Sprintf(format, args...)})
	}
	if f.Source != "" && !f.Source.Valid() {
		bad("source", "unknown source %q", f.Source)
	}
	if f.Kind != "" && !f.Kind.Valid() {
		bad("kind", "unknown kind %q", f.Kind)
	}
	if f.Generation != "" && f.Generation != GenerationSecond && f.Generation != GenerationThird {
		bad("generation", "generation %q: a new card is second or third generation", f.Generation)
	}
	if f.ReplacesGeneration != "" && !f.ReplacesGeneration.Valid() {
		bad("replaces_generation", "generation %q is not first, second or third", f.ReplacesGeneration)
	}
	if f.ExpiringWithinMonths < 0 || f.ExpiringWithinMonths > MaxExpiringWithinMonths {
		bad("expiring_within_months", "%d is not between 0 and %d", f.ExpiringWithinMonths, MaxExpiringWithinMonths)
	}
	if f.Limit < 0 {
		bad("limit", "a limit is not negative")
	}
	return out
}

// SelectsReplacementsOnly reports whether the filter keeps only
// replacements: one naming the replaced card's generation or expiry does.
func (f BatchFilter) SelectsReplacementsOnly() bool {
	return f.ReplacesGeneration != "" || f.ExpiringWithinMonths > 0
}

// ExpiryCutoff is the last expiry date (YYYY-MM-DD) the filter keeps for a
// batch created on createdOn: ExpiringWithinMonths calendar months later,
// clamped to the month's last day (a batch on 2025-08-31 within 6 months
// keeps cards expiring up to 2026-02-28). "" when the filter has no
// expiry condition.
func (f BatchFilter) ExpiryCutoff(createdOn string) (string, error) {
	if f.ExpiringWithinMonths == 0 {
		return "", nil
	}
	d, err := time.Parse(DateLayout, createdOn)
	if err != nil {
		return "", fmt.Errorf("expiry cutoff: creation date %q: %w", createdOn, err)
	}
	first := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, f.ExpiringWithinMonths, 0)
	last := first.AddDate(0, 1, -1).Day()
	return time.Date(first.Year(), first.Month(), min(d.Day(), last), 0, 0, 0, 0, time.UTC).Format(DateLayout), nil
}
