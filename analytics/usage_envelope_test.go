package analytics

import (
	"testing"
	"time"

	"github.com/cardledger/cardledger/domain"
)

// A usage record's event, to the byte, as the ingester has always stored
// it: id from the record id, occurred_at the time of use as parsed, the
// sender as actor, channel "http", and no causation (no command caused it).
// usageEvent builds it with commands.EncodeEvent, the one envelope.
func TestUsageEventIsTheStoredFormat(t *testing.T) {
	u, errs := domain.ParseUsage(domain.UsageInput{ID: "r-1", CardNo: "A12345678", At: "2026-03-04T13:06:07+08:00",
		Kind: "transit", Amount: "2.50", RegionCode: "110101", Merchant: "bus", Category: "4111", Channel: "card"},
		time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	ev, err := usageEvent(u, domain.Actor{Client: "transit-co"})
	if err != nil {
		t.Fatal(err)
	}
	const (
		data = `{"record_id":"r-1","card_no":"A12345678","at":"2026-03-04T05:06:07Z","kind":"transit","amount":"2.5","region_code":"110101","merchant":"bus","category":"4111","channel":"card"}`
		meta = `{"event_id":"7c89a082-11cd-59dc-b142-41155eb54474","schema_version":1,"occurred_at":"2026-03-04T05:06:07Z","actor":{"client":"transit-co"},"channel":"http"}`
	)
	if ev.ID != domain.UsageEventID("r-1") || ev.Type != domain.UsageEventType || string(ev.Data) != data || string(ev.Metadata) != meta {
		t.Errorf("usage event %s %s\n%s\n%s", ev.ID, ev.Type, ev.Data, ev.Metadata)
	}
}
