package batch

import (
	"context"

	"github.com/cardledger/cardledger/domain"
)

// PSAMCommand runs one PSAM command (stock-in, issue, return, damage, loss)
// on the card's own stream and returns the card's state after it. The
// command id derives from the stream revision it was decided at, so a
// retried request writes nothing twice.
func (s *Service) PSAMCommand(ctx context.Context, serial string, cmd domain.PSAMCommand) (*domain.PSAM, error) {
	return s.updatePSAM(ctx, serial, cmd)
}

// PSAM returns the state of one PSAM card.
func (s *Service) PSAM(ctx context.Context, serial string) (*domain.PSAM, error) {
	p, _, exists, err := s.loadPSAM(ctx, serial)
	if err != nil {
		return nil, err
	}
	if !exists {
		return nil, domain.NotFound(domain.CodePSAMNotFound, "no PSAM card %q", serial)
	}
	return p, nil
}

func (s *Service) loadPSAM(ctx context.Context, serial string) (*domain.PSAM, uint64, bool, error) {
	l, err := s.psams.Load(ctx, serial)
	if err != nil {
		return nil, 0, false, err
	}
	return l.State, l.Revision, l.Exists, nil
}

// PSAMStock lists the PSAM cards of an agency ("" for the warehouse) with
// counts per status, after bringing the read model up to date.
func (s *Service) PSAMStock(ctx context.Context, agency string) (*PSAMStock, error) {
	if err := s.catchUp(ctx); err != nil {
		return nil, err
	}
	return s.readModel.PSAMStock(ctx, agency)
}

// WithActor returns a Service that records actor as the author of what it writes.
func (s *Service) WithActor(actor domain.Actor) *Service {
	cp := *s
	if actor.Client != "" {
		cp.actor = actor
	}
	return &cp
}
