package analytics_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cardledger/cardledger/domain"
)

// Corrections are counted by field, without their values; a phone changed
// by the holder through a channel is no correction.
func TestCorrectionsAreCountedByField(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newSystem(t)
	p := s.register(1, "320505")
	s.card(p.cardNo, domain.CorrectPersonalData{Field: domain.CorrectName, Value: "测试乙", Reason: "typo"})
	s.card(p.cardNo, domain.CorrectPersonalData{Field: domain.CorrectEmployerCode, Value: "EMP-9", Reason: "moved"})
	s.card(p.cardNo, domain.CorrectPersonalData{Field: domain.CorrectPhone, Value: "13900139000", Reason: "typo"})
	s.card(p.cardNo, domain.ChangePhone{Phone: "13900139001"})
	s.project()

	rows, err := s.ch.Query(ctx, `SELECT detail FROM card_events FINAL WHERE event = 'corrected' ORDER BY pos_commit, pos_prepare`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var d string
		if err := rows.Scan(&d); err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"name", "employer_code", "phone"}; !slices.Equal(got, want) {
		t.Fatalf("correction details %q, want %q", got, want)
	}
}
