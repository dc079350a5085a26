package batch

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// A replacement whose fee is due is not selected until the POS reports it
// paid; the daily report lists it on the day it was assessed and the day
// it was paid.
func TestUnpaidReplacementIsHeldOutOfBatchesAndReported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(t)
	ctx := context.Background()
	p := people(1, 800)[0]
	id := domain.CardholderIDFor(testIDKey, p.IDNumber)
	update := func(cmds ...domain.CardholderCommand) {
		t.Helper()
		env := commands.Envelope{CommandID: uuid.New(), Actor: domain.Actor{Client: "counter"}, Channel: "counter"}
		if _, err := e.cmds.Repository.Update(ctx, id, nil, env, func(c *domain.Cardholder) ([]domain.Event, error) { return decideAll(c, cmds...) }); err != nil {
			t.Fatal(err)
		}
	}
	on := time.Date(2025, 2, 28, 20, 0, 0, 0, time.UTC) // 2025-03-01 in China
	schedule := domain.FeeSchedule{AmountFen: 2000, ElderlyAge: 70, Exemptions: []domain.FeeExemption{domain.FeeExemptHardship}}
	update(domain.RegisterCardholder{CardholderID: id, IDNumber: p.IDNumber, Name: p.Name, Nationality: "CHN", RegionCode: p.RegionCode},
		domain.InstantIssue{ApplicationID: "fee-1", BankCode: "ICBC", AccountNo: "6222000000000001", CardNo: "F00000001", ChipID: "0123456789abcdef0123456789abcdef", On: on},
		domain.ReplaceCard{CardNo: "F00000001", ApplicationID: "fee-2", Source: domain.SourceCounter, BankCode: "ICBC",
			Fee: &domain.ReplacementFee{Schedule: schedule, On: on}})
	if _, err := s.CreateBatch(ctx, "FEE1", domain.BatchFilter{}); !domain.HasCode(err, domain.CodeBatchEmpty) {
		t.Fatalf("an unpaid replacement was selected: %v", err)
	}
	report, err := s.readModel.FeesOn(ctx, "2025-03-01")
	want := []FeeRow{{ApplicationID: "fee-2", CardholderID: id, RegionCode: "320505", AmountFen: 2000, AssessedOn: "2025-03-01"}}
	if err != nil || !reflect.DeepEqual(report, want) {
		t.Fatalf("report %+v, %v", report, err)
	}
	update(domain.RecordFeePayment{ApplicationID: "fee-2", PaymentID: "pos-77", AmountFen: 2000, Terminal: "sg-01",
		PaidAt: time.Date(2025, 3, 2, 1, 0, 0, 0, time.UTC)})
	b, err := s.CreateBatch(ctx, "FEE2", domain.BatchFilter{})
	if err != nil || len(b.Members) != 1 || b.Members[0].ApplicationID != "fee-2" {
		t.Fatalf("the paid replacement: %v %+v", err, b)
	}
	report, err = s.readModel.FeesOn(ctx, "2025-03-02")
	want = []FeeRow{{ApplicationID: "fee-2", CardholderID: id, RegionCode: "320505", AmountFen: 2000, AssessedOn: "2025-03-01",
		PaymentID: "pos-77", PaidOn: "2025-03-02"}}
	if err != nil || !reflect.DeepEqual(report, want) {
		t.Fatalf("report of the payment day %+v, %v", report, err)
	}
}
