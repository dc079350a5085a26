package analytics_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// E-card revocations are counted by cause; one stored at version 1, before
// causes were recorded, reads as "unrecorded".
func TestECardRevocationsCarryTheirCause(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s := newSystem(t)
	p := s.register(1, "320505")
	s.card(p.cardNo, domain.IssueECard{CardNo: p.cardNo})

	// A revocation as the code of version 1 wrote it.
	id := uuid.New()
	md, err := json.Marshal(domain.Metadata{EventID: id.String(), SchemaVersion: 1,
		OccurredAt: time.Date(2025, 1, 2, 3, 0, 0, 0, time.UTC), Actor: domain.Actor{Client: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.store.Append(ctx, domain.StreamFor(p.id), eventstore.Any(), []eventstore.EventData{{ID: id,
		Type: "ECardRevoked", Data: []byte(`{"card_no":"` + p.cardNo + `","reason":"holder asked"}`), Metadata: md}})
	if err != nil {
		t.Fatal(err)
	}
	s.wrote(res.Position)
	s.card(p.cardNo, domain.IssueECard{CardNo: p.cardNo})
	s.card(p.cardNo, domain.RevokeECard{CardNo: p.cardNo, Cause: domain.ECardCauseMisuse, Reason: "account taken over"})
	s.project()

	rows, err := s.ch.Query(ctx, `SELECT detail FROM card_events FINAL WHERE event = 'ecard_revoked' ORDER BY pos_commit, pos_prepare`)
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
	if len(got) != 2 || got[0] != "unrecorded" || got[1] != "misuse" {
		t.Fatalf("revocation details %q, want [unrecorded misuse]", got)
	}
}
