package commands_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// The envelope a command's events carry, to the byte: the format every
// stored event since the pipeline has, which the writers that moved onto
// EncodeEvents/EncodeEvent (usage records, digests, card-number
// reservations, the seeder) must not change for commands.
func TestEnvelopeOfACommandIsTheStoredFormat(t *testing.T) {
	env := commands.Envelope{CommandID: uuid.MustParse("11111111-2222-3333-4444-555555555555"),
		Actor: domain.Actor{Client: "bank1", Operator: "王伟"}, Channel: "http", CorrelationID: "corr-1", RemoteAddr: "10.0.0.7"}
	now := time.Date(2026, 3, 4, 5, 6, 7, 800, time.UTC)
	events := []domain.Event{domain.CardReportedLost{CardNo: "A12345678", Reason: "wallet"}, domain.CardActivated{CardNo: "A12345678"}}
	got, err := commands.EncodeEvents(domain.EncodeEvent, env, "cardholder-x", now, events)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ id, typ, data, meta string }{
		{"c7ef1e7d-0d8c-5532-861d-812339ee1d15", "CardReportedLost", `{"card_no":"A12345678","reason":"wallet"}`,
			`{"event_id":"c7ef1e7d-0d8c-5532-861d-812339ee1d15","schema_version":1,"occurred_at":"2026-03-04T05:06:07.0000008Z","actor":{"client":"bank1","operator":"王伟"},"channel":"http","correlation_id":"corr-1","causation_id":"11111111-2222-3333-4444-555555555555","remote_addr":"10.0.0.7"}`},
		{"", "CardActivated", `{"card_no":"A12345678"}`, ``},
	}
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != commands.EventID(env.CommandID, "cardholder-x", i) || w.id != "" && g.ID.String() != w.id ||
			g.Type != w.typ || string(g.Data) != w.data || w.meta != "" && string(g.Metadata) != w.meta {
			t.Errorf("event %d: %s %s %s %s\nwant %s %s %s %s", i, g.ID, g.Type, g.Data, g.Metadata, w.id, w.typ, w.data, w.meta)
		}
	}
}
