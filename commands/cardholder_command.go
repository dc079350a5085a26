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
	// province checks first applications (card_held_elsewhere).
	province *provinceLink
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
	decide := func(s *domain.Cardholder) ([]domain.Event, error) { return domain.Decide(s, cmd.Command) }
	if h.province != nil && h.province.port != nil {
		var err error
		if decide, err = h.gate(ctx, cmd, decide); err != nil {
			return Result{}, err
		}
	}
	res, err := h.repo.Update(ctx, cmd.CardholderID, cmd.Expected, cmd.Envelope, decide)
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

// gate applies the first-issue rule (provinceLink.firstIssueGate) on the
// holder as loaded; a command already applied is not asked about again.
func (h *CardholderCommandHandler) gate(ctx context.Context, cmd CardholderCommand,
	decide func(*domain.Cardholder) ([]domain.Event, error)) (func(*domain.Cardholder) ([]domain.Event, error), error) {
	switch cmd.Command.(type) {
	case domain.ApplyForCard, domain.ApplyThroughChannel:
	default:
		return decide, nil
	}
	loaded, err := h.repo.Load(ctx, cmd.CardholderID)
	if err != nil {
		return nil, err
	}
	if err := checkScope(cmd.Scope, loaded.State); err != nil {
		return nil, err
	}
	if _, ok := h.repo.Replayed(loaded, cmd.Envelope); ok {
		return decide, nil
	}
	return h.province.firstIssueGate(ctx, loaded.State, cmd.Command, decide)
}
