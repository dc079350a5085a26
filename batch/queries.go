package batch

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/cardledger/cardledger/domain"
)

// Pending returns the pending applications (applied or account opened) in
// no batch that match filter, ordered by region, community, employer and ID
// number, as batch members. An application that still has to go through the
// bank's account opening but names no bank (possible at a counter) is left
// out: the bank's return could neither open nor refuse its account (both
// need the bank code), so it would block its whole batch.
//
// An application whose replacement fee is due is held (see feeDueSQL).
//
// The generation and expiry conditions read the holder's state: the
// application's card (Generation, "" counting as second) and, for a
// replacement, the replaced card, which is the last of PastCards (an
// application moves the card before it there). createdOn is the batch's
// creation date the expiry horizon counts from.
func (m *ReadModel) Pending(ctx context.Context, filter domain.BatchFilter, createdOn string) ([]domain.BatchMember, error) {
	cutoff, err := filter.ExpiryCutoff(createdOn)
	if err != nil {
		return nil, err
	}
	sql := `SELECT state FROM batchrm.applications
		WHERE status IN ('applied', 'account_opened') AND batch_id IS NULL
		AND (coalesce(state->'Card'->>'BankCode', '') <> ''
			OR (coalesce(state->'Card'->>'AccountNo', '') <> '' AND coalesce(state->'Card'->>'CardNo', '') <> ''))
		AND NOT ` + feeDueSQL
	var args []any
	add := func(col, v string) {
		if v != "" {
			args = append(args, v)
			sql += " AND " + col + " = $" + strconv.Itoa(len(args))
		}
	}
	add("region_code", filter.RegionCode)
	add("employer_code", filter.EmployerCode)
	add("community_code", filter.CommunityCode)
	add("source", string(filter.Source))
	add("kind", string(filter.Kind))
	add("coalesce(nullif(state->'Card'->>'Generation', ''), 'second')", string(filter.Generation))
	if filter.SelectsReplacementsOnly() {
		sql += " AND kind = 'replacement' AND state->'PastCards'->-1->>'CardNo' = state->'Card'->>'ReplacesCardNo'"
	}
	add("coalesce(nullif(state->'PastCards'->-1->>'Generation', ''), 'second')", string(filter.ReplacesGeneration))
	if cutoff != "" {
		args = append(args, cutoff)
		sql += " AND nullif(state->'PastCards'->-1->>'ExpiresOn', '') <= $" + strconv.Itoa(len(args))
	}
	sql += " ORDER BY region_code, community_code, employer_code, id_number"
	if filter.Limit > 0 {
		sql += " LIMIT " + strconv.Itoa(filter.Limit)
	}
	rows, err := m.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("pending applications: %w", err)
	}
	defer rows.Close()
	var out []domain.BatchMember
	for rows.Next() {
		var state []byte
		if err := rows.Scan(&state); err != nil {
			return nil, err
		}
		var c domain.Cardholder
		if err := json.Unmarshal(state, &c); err != nil {
			return nil, fmt.Errorf("pending applications: %w", err)
		}
		out = append(out, memberOf(&c))
	}
	return out, rows.Err()
}

func memberOf(c *domain.Cardholder) domain.BatchMember {
	p, card := c.Profile, c.Card
	m := domain.BatchMember{
		CardholderID: c.ID, ApplicationID: card.ApplicationID, IDNumber: p.IDNumber, Name: p.Name, Sex: p.Sex,
		BirthDate: p.BirthDate, Nationality: p.Nationality, RegionCode: p.RegionCode, EmployerCode: p.EmployerCode,
		CommunityCode: p.CommunityCode, Source: card.Source, Kind: card.Kind, BankCode: card.BankCode, PhotoRef: card.PhotoRef,
	}
	// A retry after a production failure keeps its account and number and
	// skips the bank round-trip; an account without a number goes through
	// it again (the process manager then only assigns the number).
	if card.AccountNo != "" && card.CardNo != "" {
		m.AccountNo, m.CardNo = card.AccountNo, card.CardNo
	}
	return m
}

// BatchSummary is one row of the batch list.
type BatchSummary struct {
	BatchID   string `json:"batch_id"`
	CreatedOn string `json:"created_on"`
	Members   int    `json:"members"`
	JobActive bool   `json:"job_active"`
	PickedUp  bool   `json:"picked_up"`
}

// Batches lists the batches the read model knows, newest id first.
func (m *ReadModel) Batches(ctx context.Context) ([]BatchSummary, error) {
	rows, err := m.pool.Query(ctx, "SELECT batch_id, created_on, members, job <> 0, picked_up FROM batchrm.batches ORDER BY created_on DESC, batch_id DESC")
	if err != nil {
		return nil, fmt.Errorf("list batches: %w", err)
	}
	defer rows.Close()
	var out []BatchSummary
	for rows.Next() {
		var b BatchSummary
		if err := rows.Scan(&b.BatchID, &b.CreatedOn, &b.Members, &b.JobActive, &b.PickedUp); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// PSAMStock is the PSAM stock of one agency (or the warehouse, agency "").
type PSAMStock struct {
	Agency   string         `json:"agency"`
	ByStatus map[string]int `json:"by_status"`
	Cards    []PSAMCard     `json:"cards"`
}

// PSAMCard is one PSAM card as listed in a stock query.
type PSAMCard struct {
	Serial     string `json:"serial"`
	Status     string `json:"status"`
	Model      string `json:"model,omitempty"`
	Vendor     string `json:"vendor,omitempty"`
	Warehouse  string `json:"warehouse,omitempty"`
	TerminalID string `json:"terminal_id,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// PSAMStock lists the PSAM cards held by agency (every card an agency was
// issued, including those it reported damaged or lost); agency "" lists the
// warehouse stock (never issued or returned).
func (m *ReadModel) PSAMStock(ctx context.Context, agency string) (*PSAMStock, error) {
	rows, err := m.pool.Query(ctx, `SELECT serial, status, model, vendor, warehouse, terminal_id, reason
		FROM batchrm.psam WHERE agency = $1 ORDER BY serial`, agency)
	if err != nil {
		return nil, fmt.Errorf("psam stock: %w", err)
	}
	defer rows.Close()
	st := &PSAMStock{Agency: agency, ByStatus: map[string]int{}, Cards: []PSAMCard{}}
	for rows.Next() {
		var c PSAMCard
		if err := rows.Scan(&c.Serial, &c.Status, &c.Model, &c.Vendor, &c.Warehouse, &c.TerminalID, &c.Reason); err != nil {
			return nil, err
		}
		st.ByStatus[c.Status]++
		st.Cards = append(st.Cards, c)
	}
	return st, rows.Err()
}

type stringRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

func collectStrings(rows stringRows) ([]string, error) {
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
