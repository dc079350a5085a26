package analytics_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/esdbstore"
	"github.com/cardledger/cardledger/eventstore/esdbstore/esdbdouble"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
)

// knownCards is a card directory that knows a fixed set of numbers.
type knownCards map[string]bool

func (k knownCards) KnownCards(_ context.Context, nos []string) (map[string]bool, error) {
	out := make(map[string]bool, len(nos))
	for _, no := range nos {
		out[no] = k[no]
	}
	return out, nil
}

// stores opens each adapter the ingester must work on: PostgreSQL and
// EventStoreDB (the double, which refuses appends over 1 MiB as the server
// does).
func stores(t *testing.T) map[string]func(t *testing.T) eventstore.Store {
	return map[string]func(t *testing.T) eventstore.Store{
		"pgstore": func(t *testing.T) eventstore.Store { return pgstoretest.OpenTest(t) },
		"esdbstore": func(t *testing.T) eventstore.Store {
			srv, err := esdbdouble.Start()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Stop)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			s, err := esdbstore.Open(ctx, srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// cardMonth makes n records of one card in March 2025: one usage stream.
func cardMonth(prefix, cardNo string, n int) []domain.UsageInput {
	start := time.Date(2025, 3, 1, 8, 0, 0, 0, domain.ChinaTime())
	out := make([]domain.UsageInput, n)
	for i := range out {
		out[i] = domain.UsageInput{
			ID: fmt.Sprintf("%s-%05d", prefix, i), CardNo: cardNo,
			At:   start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339),
			Kind: string(domain.UsageMedicalSettlement), Amount: fmt.Sprintf("%d.%02d", i%500, i%100),
			RegionCode: "320508", Merchant: "苏州市立医院本部门诊收费处第" + fmt.Sprint(i%40) + "窗口",
			Category: "medical_treatment", Channel: string(domain.ChannelCard),
		}
	}
	return out
}

// TestIngestOfACardMonthOverTheAppendLimit sends the most records one call
// takes, all of one card-month, so one usage stream gets several MiB: the
// ingester must split it into appends the store accepts, and store each
// record exactly once, on every adapter.
func TestIngestOfACardMonthOverTheAppendLimit(t *testing.T) {
	const card = "A12345678"
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			ctx := context.Background()
			in := analytics.NewIngester(store, knownCards{card: true}, nil)
			records := cardMonth("big", card, analytics.MaxUsageBatch)
			stream := domain.UsageStream(card, time.Date(2025, 3, 1, 8, 0, 0, 0, domain.ChinaTime()))

			// A first call that stored some of them already (as one that
			// failed half-way would have).
			head, err := in.Ingest(ctx, records[:1234], true, domain.Actor{Client: "test"})
			if err != nil || head.Recorded != 1234 {
				t.Fatalf("first 1234: %+v, %v", head, err)
			}
			res, err := in.Ingest(ctx, records, true, domain.Actor{Client: "test"})
			if err != nil {
				t.Fatalf("Ingest: %v", err)
			}
			if res.Recorded != len(records)-1234 || res.Duplicates != 1234 || len(res.Rejected) != 0 {
				t.Fatalf("result %+v, want %d recorded and 1234 duplicates", res, len(records)-1234)
			}
			stored, err := store.ReadStream(ctx, stream, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			size := 0
			var got []uuid.UUID
			for _, e := range stored {
				got = append(got, e.ID)
				size += eventstore.EventSize(eventstore.EventData{Type: e.Type, Data: e.Data, Metadata: e.Metadata})
			}
			var want []uuid.UUID
			for _, r := range records {
				want = append(want, domain.UsageEventID(r.ID))
			}
			if !slices.Equal(got, want) {
				t.Fatalf("stream holds %d events, want each of the %d records once, in order", len(got), len(want))
			}
			if size <= 2*eventstore.MaxAppendSize {
				t.Fatalf("the card-month is %d bytes: too small to need several appends", size)
			}
			if last := stored[len(stored)-1].Position; res.Position != last {
				t.Errorf("result position %s, want the last event's %s", res.Position, last)
			}
			again, err := in.Ingest(ctx, records, false, domain.Actor{Client: "test"})
			if err != nil || again.Recorded != 0 || again.Duplicates != len(records) {
				t.Fatalf("resent: %+v, %v; want every record a duplicate", again, err)
			}
		})
	}
}

// TestARecordIDReusedForAnotherCardMonth: where the store keeps event ids
// unique store-wide (PostgreSQL) the reused id is refused and the rest of
// its card-month stored; EventStoreDB scopes ids to a stream, so there it
// is stored as a record of its own (see Ingester).
func TestARecordIDReusedForAnotherCardMonth(t *testing.T) {
	const card = "A12345678"
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			store := open(t)
			ctx := context.Background()
			in := analytics.NewIngester(store, knownCards{card: true}, nil)
			if res, err := in.Ingest(ctx, cardMonth("m", card, 3), false, domain.Actor{}); err != nil || res.Recorded != 3 {
				t.Fatalf("March: %+v, %v", res, err)
			}
			april := cardMonth("a", card, 3)
			for i := range april {
				april[i].At = "2025-04-02T10:00:00+08:00"
			}
			april[1].ID = "m-00001" // a March record's id
			res, err := in.Ingest(ctx, april, false, domain.Actor{})
			if err != nil {
				t.Fatal(err)
			}
			u, ok := store.(eventstore.UniqueEventIDs)
			if !ok || !u.UniqueEventIDs() {
				if res.Recorded != 3 || len(res.Rejected) != 0 {
					t.Fatalf("result %+v, want all 3 recorded", res)
				}
				return
			}
			if res.Recorded != 2 || res.Duplicates != 0 || len(res.Rejected) != 1 || res.Rejected[0].Index != 1 ||
				res.Rejected[0].Fields[0].Code != analytics.CodeDuplicateID {
				t.Fatalf("result %+v, want 2 recorded and record 1 refused as duplicate_id", res)
			}
			got, err := store.ReadStream(ctx, domain.UsageStream(card, time.Date(2025, 4, 2, 10, 0, 0, 0, time.UTC)), 0, 0)
			if err != nil || len(got) != 2 {
				t.Fatalf("April holds %d events, %v; want 2", len(got), err)
			}
		})
	}
}
