package commands

import (
	"context"
	"errors"
	"fmt"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// ErasureFollower is a read model that keeps personal data in clear
// (outside the event store's per-person encryption). The erasure command
// brings every follower past the CardholderErased event before it answers,
// so that once an erasure has answered, no read model holds the person's
// data from before it, whether or not its own catch-up runs meanwhile.
type ErasureFollower struct {
	// Name names the read model in errors.
	Name string
	// CatchUp stores everything up to pos in the read model, pos
	// included. It must be idempotent and safe next to the read model's
	// own writers: it runs again on every retry of the erasure.
	CatchUp func(ctx context.Context, pos eventstore.Position) error
}

// FollowErasures registers the read models the erasure command brings up
// to date before answering. Call it before the handler serves commands.
func (h *CardholderCommandHandler) FollowErasures(followers ...ErasureFollower) {
	h.followers = append(h.followers, followers...)
}

// followErasure brings every follower past the erasure of cardholderID,
// given the outcome of the erase command. A retry that finds the holder
// already erased does it too, with the position of the recorded erasure:
// that is how an erasure whose process died after the append, or whose
// followers failed, is completed. Until every follower succeeded the
// command fails (500) and the client retries.
func (h *CardholderCommandHandler) followErasure(ctx context.Context, cardholderID string, res Result, cmdErr error) error {
	if len(h.followers) == 0 {
		return nil
	}
	pos := res.Position
	switch {
	case cmdErr == nil:
	case domain.HasCode(cmdErr, domain.CodeAlreadyErased):
		p, err := h.erasedAt(ctx, cardholderID)
		if err != nil {
			return err
		}
		pos = p
	default:
		return nil // nothing was erased
	}
	// Every follower, also after one failed: each purges what it can.
	var errs []error
	for _, f := range h.followers {
		if err := f.CatchUp(ctx, pos); err != nil {
			errs = append(errs, fmt.Errorf("read model %s: %w", f.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("erasure of %s is recorded, but a read model may still hold the data; retry the erasure: %w", cardholderID, err)
	}
	return nil
}

// erasedAt is the position of the holder's CardholderErased event.
func (h *CardholderCommandHandler) erasedAt(ctx context.Context, cardholderID string) (eventstore.Position, error) {
	loaded, err := h.repo.Load(ctx, cardholderID)
	if err != nil {
		return eventstore.Position{}, err
	}
	for _, rec := range loaded.Recorded {
		if rec.Type == (domain.CardholderErased{}).EventType() {
			return rec.Position, nil
		}
	}
	return eventstore.Position{}, fmt.Errorf("commands: holder %s reads as erased but has no CardholderErased event", cardholderID)
}
