package commands

import (
	"context"
	"errors"
	"time"

	"github.com/cardledger/cardledger/domain"
)

// InstantIssue is the bank-counter flow (即时制卡): apply if needed, open the
// account, assign a number, produce, issue and activate in one append.
// The bank opens the account at the counter and its card writer reads the
// chip it personalised, so AccountNo and ChipID come from the bank: the
// ledger records what the bank said and never makes a value up. AccountNo
// may be left out only when the pending application already has an
// account at this bank (then that one is used); a missing ChipID, or a
// missing AccountNo otherwise, is a 400 required on that field. Agency,
// the issuing outlet, is optional and defaults to the bank.
type InstantIssue struct {
	Envelope
	CardholderID string
	BankCode     string
	AccountNo    string
	ChipID       string
	Agency       string
	// Fee is the replacement fee schedule, assessed when this opens a
	// replacement application (docs/fees.md); nil charges none.
	Fee *domain.ReplacementFee
}

// InstantIssueHandler handles InstantIssue.
type InstantIssueHandler struct {
	repo    *Repository
	numbers *CardNumbers
	clock   func() time.Time
	// province checks first issues (card_held_elsewhere).
	province *provinceLink
}

func NewInstantIssueHandler(repo *Repository, numbers *CardNumbers, clock func() time.Time) (*InstantIssueHandler, error) {
	if repo == nil || numbers == nil || clock == nil {
		return nil, errors.New("commands: instant issue handler needs a repository, card numbers and a clock")
	}
	return &InstantIssueHandler{repo: repo, numbers: numbers, clock: clock}, nil
}

func (h *InstantIssueHandler) Handle(ctx context.Context, cmd InstantIssue) (Result, error) {
	if err := checkCardholderID(cmd.CardholderID); err != nil {
		return Result{}, err
	}
	loaded, err := h.repo.Load(ctx, cmd.CardholderID)
	if err != nil {
		return Result{}, err
	}
	// Before reserving a card number: a denial appends nothing anywhere.
	if err := checkScope(cmd.Scope, loaded.State); err != nil {
		return Result{}, err
	}
	if res, ok := h.repo.Replayed(loaded, cmd.Envelope); ok {
		return res, nil
	}
	dc := domain.InstantIssue{
		ApplicationID: ApplicationIDFor(cmd.CommandID),
		BankCode:      cmd.BankCode,
		AccountNo:     cmd.AccountNo,
		ChipID:        cmd.ChipID,
		On:            h.clock(),
		Agency:        cmd.Agency,
		CardNo:        placeholderCardNo,
		Fee:           cmd.Fee,
	}
	if dc.Agency == "" {
		dc.Agency = cmd.BankCode
	}
	// A pending application may already have its account and number (say,
	// after a failed production): continue with those.
	pending := loaded.State.Card
	if pending != nil && (pending.Status == domain.StatusApplied || pending.Status == domain.StatusAccountOpened) {
		if dc.AccountNo == "" && pending.BankCode == cmd.BankCode {
			dc.AccountNo = pending.AccountNo
		}
		if pending.CardNo != "" {
			dc.CardNo = pending.CardNo
		}
	}
	decide, err := h.province.firstIssueGate(ctx, loaded.State, dc,
		func(s *domain.Cardholder) ([]domain.Event, error) { return domain.Decide(s, dc) })
	if err != nil {
		return Result{}, err
	}
	// Before reserving a number: a refusal (the first-issue rule included)
	// reserves nothing.
	if _, err := decide(loaded.State); err != nil {
		return Result{}, err
	}
	if dc.CardNo == placeholderCardNo {
		if dc.CardNo, err = h.numbers.Reserve(ctx, cmd.Envelope, cmd.CardholderID); err != nil {
			return Result{}, err
		}
	}
	return h.repo.Update(ctx, cmd.CardholderID, cmd.Expected, cmd.Envelope, func(s *domain.Cardholder) ([]domain.Event, error) {
		return decide(s)
	})
}
