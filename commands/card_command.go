package commands

import (
	"context"
	"errors"

	"github.com/cardledger/cardledger/domain"
)

// CardCommand is a domain command addressed by card number (loss, unlock,
// cancellation, replacement ...). Command must name the same card.
type CardCommand struct {
	Envelope
	CardNo  string
	Command domain.CardholderCommand
}

// CardCommandHandler handles CardCommand: it finds the card's holder through
// the card-number reservation and runs the command on that holder.
type CardCommandHandler struct {
	repo    *Repository
	numbers *CardNumbers
}

func NewCardCommandHandler(repo *Repository, numbers *CardNumbers) (*CardCommandHandler, error) {
	if repo == nil || numbers == nil {
		return nil, errors.New("commands: card command handler needs a repository and card numbers")
	}
	return &CardCommandHandler{repo: repo, numbers: numbers}, nil
}

func (h *CardCommandHandler) Handle(ctx context.Context, cmd CardCommand) (Result, error) {
	dc := cmd.Command
	holder, err := h.numbers.Resolve(ctx, cmd.CardNo)
	if err != nil {
		return Result{}, err
	}
	return h.repo.Update(ctx, holder, cmd.Expected, cmd.Envelope, func(s *domain.Cardholder) ([]domain.Event, error) {
		return domain.Decide(s, dc)
	})
}
