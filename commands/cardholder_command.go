package commands

import (
	"context"
	"errors"

	"github.com/cardledger/cardledger/domain"
)

// CardholderCommand is a domain command addressed by cardholder id that
// needs nothing chosen by the application beyond what the caller filled in
// (apply for a card, open or refuse the bank account).
type CardholderCommand struct {
	Envelope
	CardholderID string
	Command      domain.CardholderCommand
}

// CardholderCommandHandler handles CardholderCommand.
type CardholderCommandHandler struct {
	repo      *Repository
	followers []ErasureFollower // see FollowErasures
}

func NewCardholderCommandHandler(repo *Repository) (*CardholderCommandHandler, error) {
	if repo == nil {
		return nil, errors.New("commands: cardholder command handler needs a repository")
	}
	return &CardholderCommandHandler{repo: repo}, nil
}

func (h *CardholderCommandHandler) Handle(ctx context.Context, cmd CardholderCommand) (Result, error) {
	if err := checkCardholderID(cmd.CardholderID); err != nil {
		return Result{}, err
	}
	res, err := h.repo.Update(ctx, cmd.CardholderID, cmd.Expected, cmd.Envelope, func(s *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(s, cmd.Command)
	})
	if _, erase := cmd.Command.(domain.EraseCardholder); erase {
		if ferr := h.followErasure(ctx, cmd.CardholderID, res, err); ferr != nil {
			return Result{}, ferr
		}
	}
	return res, err
}

// checkCardholderID refuses ids that domain.CardholderIDFor cannot have
// produced (32 lowercase hex digits) without touching the store.
func checkCardholderID(id string) error {
	ok := len(id) == 32
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
	}
	if !ok {
		return domain.NotFound(domain.CodeCardholderNotFound, "cardholder %q is not registered", id)
	}
	return nil
}
