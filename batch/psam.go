package batch

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// PSAMCommand runs one PSAM command (stock-in, issue, return, damage, loss)
// on the card's own stream and returns the card's state after it. The
// command id derives from the stream revision it was decided at, so a
// retried request writes nothing twice.
func (s *Service) PSAMCommand(ctx context.Context, serial string, cmd domain.PSAMCommand) (*domain.PSAM, error) {
	stream := domain.PSAMStreamFor(serial)
	for attempt := 1; ; attempt++ {
		p, rev, exists, err := s.loadPSAM(ctx, serial)
		if err != nil {
			return nil, err
		}
		events, err := domain.DecidePSAM(p, cmd)
		if err != nil {
			return nil, err
		}
		expected, at := eventstore.NoStream(), "none"
		if exists {
			expected, at = eventstore.Exact(rev), strconv.FormatUint(rev, 10)
		}
		_, err = s.appendEvents(ctx, stream, expected, commandID("psam", serial, cmd.CommandName(), at), "psam-"+serial, events, domain.EncodeBatchEvent)
		if err == nil {
			for _, e := range events {
				if err := p.Apply(e); err != nil {
					return nil, err
				}
			}
			return p, nil
		}
		if !errors.Is(err, eventstore.ErrWrongRevision) || attempt >= maxAttempts {
			return nil, err
		}
	}
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
	stream := domain.PSAMStreamFor(serial)
	recs, err := s.store.ReadStream(ctx, stream, 0, 0)
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(recs) == 0) {
		return &domain.PSAM{}, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("load %s: %w", stream, err)
	}
	p := &domain.PSAM{}
	for _, r := range recs {
		e, err := domain.DecodeStoredBatchEvent(r.Type, r.Data, r.Metadata)
		if err != nil {
			return nil, 0, false, fmt.Errorf("load %s revision %d: %w", stream, r.Revision, err)
		}
		if err := p.Apply(e); err != nil {
			return nil, 0, false, err
		}
	}
	return p, recs[len(recs)-1].Revision, true, nil
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
