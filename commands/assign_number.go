package commands

import (
	"context"
	"errors"

	"github.com/cardledger/cardledger/domain"
)

// AssignNumber gives the holder's pending application a new card number.
type AssignNumber struct {
	Envelope
	CardholderID string
}

// AssignNumberHandler handles AssignNumber.
type AssignNumberHandler struct {
	repo    *Repository
	numbers *CardNumbers
}

func NewAssignNumberHandler(repo *Repository, numbers *CardNumbers) (*AssignNumberHandler, error) {
	if repo == nil || numbers == nil {
		return nil, errors.New("commands: assign number handler needs a repository and card numbers")
	}
	return &AssignNumberHandler{repo: repo, numbers: numbers}, nil
}

// placeholderCardNo stands in for the number when checking, before
// reserving one, whether the command would be refused anyway.
const placeholderCardNo = "A00000000"

func (h *AssignNumberHandler) Handle(ctx context.Context, cmd AssignNumber) (Result, error) {
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
	// Spend no number on a command that is refused in the current state.
	if _, err := domain.Decide(loaded.State, domain.AssignCardNumber{CardNo: placeholderCardNo}); err != nil {
		return Result{}, err
	}
	cardNo, err := h.numbers.Reserve(ctx, cmd.Envelope, cmd.CardholderID)
	if err != nil {
		return Result{}, err
	}
	return h.repo.Update(ctx, cmd.CardholderID, cmd.Expected, cmd.Envelope, func(s *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(s, domain.AssignCardNumber{CardNo: cardNo})
	})
}
