package batch

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// Batches select by the generation applied for, the replaced card's
// generation and its expiry (到期换卡), counted from the batch's creation
// date (testClock: 2025-03-01).
func TestBatchSelectsByGenerationAndExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(t)
	ctx := context.Background()
	day := func(s string) time.Time { d, _ := time.Parse(domain.DateLayout, s); return d }
	ps := people(4, 700)
	holder := func(n int, cmds ...domain.CardholderCommand) string {
		p := ps[n]
		id := domain.CardholderIDFor(testIDKey, p.IDNumber)
		reg := domain.RegisterCardholder{CardholderID: id, IDNumber: p.IDNumber, Name: p.Name, Nationality: "CHN", RegionCode: p.RegionCode}
		if _, ok := cmds[0].(domain.MigrateCardholder); !ok {
			cmds = append([]domain.CardholderCommand{reg}, cmds...)
		} else {
			m := cmds[0].(domain.MigrateCardholder)
			m.Cardholder = reg
			cmds[0] = m
		}
		env := commands.Envelope{CommandID: uuid.New(), Actor: domain.Actor{Client: "counter"}, Channel: "counter"}
		if _, err := e.cmds.Repository.Update(ctx, id, nil, env, func(c *domain.Cardholder) ([]domain.Event, error) { return decideAll(c, cmds...) }); err != nil {
			t.Fatalf("holder %d: %v", n, err)
		}
		return id
	}
	issued := func(n int, on string) domain.CardholderCommand {
		return domain.InstantIssue{ApplicationID: fmt.Sprintf("sel-%d", n), BankCode: "ICBC", AccountNo: fmt.Sprintf("622200000000000%d", n),
			CardNo: fmt.Sprintf("S0000000%d", n), ChipID: fmt.Sprintf("%032d", n), On: day(on)}
	}
	replace := func(n int, gen domain.Generation, cardNo string) domain.CardholderCommand {
		return domain.ReplaceCard{CardNo: cardNo, ApplicationID: fmt.Sprintf("sel-r%d", n), Source: domain.SourceCounter, BankCode: "ICBC", Generation: gen}
	}
	// a: second generation issued 2015-06-01, expires 2025-06-01, replaced by a third.
	a := holder(0, issued(0, "2015-06-01"), replace(0, domain.GenerationThird, "S00000000"))
	// b: second generation expiring 2030-01-10, replaced by a second (unsaid).
	b := holder(1, issued(1, "2020-01-10"), replace(1, "", "S00000001"))
	// c: a migrated first-generation card, expired 2022-05-05, replaced by a third.
	c := holder(2, domain.MigrateCardholder{SourceFile: "legacy.csv", SourceSHA256: "ab12", Line: 2, LegacyCardNo: "L00000002",
		IssuedOn: "2012-05-05", Status: domain.StatusActive, Agency: "韶关市社保中心", Today: testClock()}, replace(2, domain.GenerationThird, "L00000002"))
	// d: a first issue, generation unsaid.
	d := holder(3, domain.ApplyForCard{ApplicationID: "sel-3", Source: domain.SourceCounter, BankCode: "ICBC"})
	if err := s.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.readModel.CatchUp(ctx, e.store); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		filter domain.BatchFilter
		want   []string
	}{
		{"third generation", domain.BatchFilter{Generation: domain.GenerationThird}, []string{a, c}},
		{"second generation, unsaid included", domain.BatchFilter{Generation: domain.GenerationSecond}, []string{b, d}},
		{"replacing a first-generation card", domain.BatchFilter{ReplacesGeneration: domain.GenerationFirst}, []string{c}},
		{"replacing a second-generation card", domain.BatchFilter{ReplacesGeneration: domain.GenerationSecond}, []string{a, b}},
		{"expiring within 6 months (to 2025-09-01)", domain.BatchFilter{ExpiringWithinMonths: 6}, []string{a, c}},
		{"expiring within 3 months (to 2025-06-01, the day a expires)", domain.BatchFilter{ExpiringWithinMonths: 3}, []string{a, c}},
		{"expiring within 2 months (to 2025-05-01)", domain.BatchFilter{ExpiringWithinMonths: 2}, []string{c}},
		{"second generation expiring within 6 months", domain.BatchFilter{ReplacesGeneration: domain.GenerationSecond, ExpiringWithinMonths: 6}, []string{a}},
		{"no condition", domain.BatchFilter{}, []string{a, b, c, d}},
	}
	for _, tc := range cases {
		members, err := s.readModel.Pending(ctx, tc.filter, "2025-03-01")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, m := range members {
			got = append(got, m.CardholderID)
		}
		slices.Sort(got)
		want := slices.Clone(tc.want)
		slices.Sort(want)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: selected %v, want %v", tc.name, got, want)
		}
	}
	bt, err := s.CreateBatch(ctx, "EXP1", domain.BatchFilter{ExpiringWithinMonths: 6})
	if err != nil {
		t.Fatal(err)
	}
	if len(bt.Members) != 2 || bt.Filter.ExpiringWithinMonths != 6 {
		t.Fatalf("batch %d members, filter %+v", len(bt.Members), bt.Filter)
	}
	_, err = s.CreateBatch(ctx, "BAD1", domain.BatchFilter{Generation: domain.GenerationFirst, ExpiringWithinMonths: -1})
	var de *domain.Error
	if !domain.HasCode(err, domain.CodeInvalidCommand) || !errors.As(err, &de) || len(de.Fields) != 2 ||
		de.Fields[0].Field != "filter.generation" || de.Fields[1].Field != "filter.expiring_within_months" {
		t.Fatalf("bad filter: %v", err)
	}
}
