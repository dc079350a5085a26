package commands

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/domain"
)

// InstantIssue is the bank-counter flow (即时制卡): apply if needed, open the
// account, assign a number, produce, issue and activate in one append.
// AccountNo, ChipID and Agency are optional: the bank's account number, the
// chip personalised at the counter and the issuing outlet. Missing ones are
// taken from the pending application or derived from the command id.
type InstantIssue struct {
	Envelope
	CardholderID string
	BankCode     string
	AccountNo    string
	ChipID       string
	Agency       string
}

// InstantIssueHandler handles InstantIssue.
type InstantIssueHandler struct {
	repo    *Repository
	numbers *CardNumbers
	clock   func() time.Time
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
	if res, ok := alreadyApplied(loaded, cmd.Envelope, domain.StreamFor(cmd.CardholderID)); ok {
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
	if dc.AccountNo == "" {
		dc.AccountNo = derivedAccountNo(cmd.Envelope)
	}
	if dc.ChipID == "" {
		dc.ChipID = derivedChipID(cmd.Envelope)
	}
	if _, err := domain.Decide(loaded.State, dc); err != nil {
		return Result{}, err
	}
	if dc.CardNo == placeholderCardNo {
		if dc.CardNo, err = h.numbers.Reserve(ctx, cmd.Envelope, cmd.CardholderID); err != nil {
			return Result{}, err
		}
	}
	return h.repo.Update(ctx, cmd.CardholderID, cmd.Expected, cmd.Envelope, func(s *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(s, dc)
	})
}

// derivedAccountNo stands in for the account number when the bank's counter
// system did not send one: 19 digits, as bank card numbers have.
func derivedAccountNo(env Envelope) string {
	h := derived(env.CommandID, "account_no", 0)
	return fmt.Sprintf("62%017d", binary.BigEndian.Uint64(h[:8])%100_000_000_000_000_000)
}

// derivedChipID stands in for the chip id when the counter's card writer
// did not report one.
func derivedChipID(env Envelope) string {
	h := derived(env.CommandID, "chip_id", 0)
	return hex.EncodeToString(h[:16])
}
