package seed_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/testpg"
)

func TestIDNumbersAreValid(t *testing.T) {
	birth := time.Date(1985, 7, 9, 0, 0, 0, 0, time.UTC)
	for seq := 0; seq < 1000; seq += 37 {
		for _, sex := range []domain.Sex{domain.Male, domain.Female} {
			id := seed.IDNumber("320505", birth, seq, sex)
			if err := domain.ValidateIDNumber(id); err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if domain.SexOf(id) != sex {
				t.Fatalf("%s: sex %s, want %s", id, domain.SexOf(id), sex)
			}
		}
	}
}

func TestRunBuildsACityThroughTheCommandAndUsageHandlers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	store, err := pgstore.Open(ctx, testpg.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clock := &seed.Clock{}
	svc, err := commands.NewService(store, []byte("seed-test-cardholder-key"), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2025, 6, 15, 12, 0, 0, 0, domain.ChinaTime())
	deps := seed.Deps{
		Service: svc, Clock: clock, End: end, RandSeed: 42,
		Usage: analytics.NewIngester(store, analytics.CardNumbersDirectory{Numbers: svc.CardNumbers}, nil),
	}
	sum, err := seed.Run(ctx, deps, 120, 4, seed.NoProgress{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", sum)

	counts := map[string]int{}
	var lastUse time.Time
	pos := eventstore.Start
	for {
		page, err := store.ReadAll(ctx, pos, 5000)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, ev := range page {
			counts[ev.Type]++
			if ev.Type == domain.UsageEventType {
				var u domain.UsageRecorded
				if err := json.Unmarshal(ev.Data, &u); err != nil {
					t.Fatal(err)
				}
				if u.At.After(lastUse) {
					lastUse = u.At
				}
			}
		}
		pos = page[len(page)-1].Position
	}
	if counts["CardholderRegistered"] != 120 || sum.People != 120 {
		t.Errorf("%d registered, summary %d, want 120", counts["CardholderRegistered"], sum.People)
	}
	if counts["CardIssued"] != sum.Cards || sum.Cards < 120 {
		t.Errorf("%d cards issued, summary %d", counts["CardIssued"], sum.Cards)
	}
	if counts[domain.UsageEventType] != sum.UsageRecords || sum.UsageRecords < 120*4*2 {
		t.Errorf("%d usage events, summary %d", counts[domain.UsageEventType], sum.UsageRecords)
	}
	if counts["CardReportedLost"]+counts["CardTemporarilyLost"] == 0 || counts["CardCancelled"] == 0 {
		t.Errorf("no losses or cancellations: %v", counts)
	}
	if share := float64(sum.RemoteUses) / float64(sum.UsageRecords); share < 0.05 || share > 0.4 {
		t.Errorf("remote share %.2f, want a minority but present", share)
	}
	if lastUse.After(end) {
		t.Errorf("usage at %s after the end %s", lastUse, end)
	}
}
