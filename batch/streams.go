package batch

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// Batches and PSAM cards are written through the one write pipeline
// (commands.Pipeline), as cardholders are. Their commands carry no id of
// their own: each is named by the aggregate, the command and the stream
// revision it was decided at (commands.Call.CommandIDAt), so a command
// re-sent after its append succeeded decides on the new state and writes
// nothing twice.

// loadedBatch is a batch as read from its stream.
type loadedBatch struct {
	batch    *domain.Batch
	exists   bool
	revision uint64
}

func (s *Service) loadBatch(ctx context.Context, batchID string) (loadedBatch, error) {
	l, err := s.batches.Load(ctx, batchID)
	if err != nil {
		return loadedBatch{}, err
	}
	return loadedBatch{batch: l.State, exists: l.Exists, revision: l.Revision}, nil
}

// getBatch loads a batch that must exist.
func (s *Service) getBatch(ctx context.Context, batchID string) (*domain.Batch, error) {
	if !domain.ValidBatchID(batchID) {
		return nil, domain.NotFound(domain.CodeBatchNotFound, "no batch %q", batchID)
	}
	l, err := s.loadBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	if !l.exists {
		return nil, domain.NotFound(domain.CodeBatchNotFound, "no batch %q", batchID)
	}
	return l.batch, nil
}

// updateBatch runs cmd on the batch through the pipeline and returns the
// batch after it and the events it appended.
func (s *Service) updateBatch(ctx context.Context, batchID string, cmd domain.BatchCommand) (*domain.Batch, []domain.Event, error) {
	out, err := s.batches.Run(ctx, batchID, commands.Call[*domain.Batch]{
		Env:         s.envelope(uuid.Nil, batchID),
		Decide:      func(b *domain.Batch) ([]domain.Event, error) { return domain.DecideBatch(b, cmd) },
		CommandIDAt: func(rev string) uuid.UUID { return commandID("batch", batchID, cmd.CommandName(), rev) },
	})
	if err != nil {
		return nil, nil, err
	}
	s.written.advance(out.Position)
	return out.State, out.Events, nil
}

// updatePSAM runs cmd on PSAM card serial through the pipeline.
func (s *Service) updatePSAM(ctx context.Context, serial string, cmd domain.PSAMCommand) (*domain.PSAM, error) {
	out, err := s.psams.Run(ctx, serial, commands.Call[*domain.PSAM]{
		Env:         s.envelope(uuid.Nil, domain.PSAMStreamFor(serial)),
		Decide:      func(p *domain.PSAM) ([]domain.Event, error) { return domain.DecidePSAM(p, cmd) },
		CommandIDAt: func(rev string) uuid.UUID { return commandID("psam", serial, cmd.CommandName(), rev) },
	})
	if err != nil {
		return nil, err
	}
	s.written.advance(out.Position)
	return out.State, nil
}

// writers are the pipelines this package writes through: batches, PSAM
// cards, and cardholder streams started by an import.
type writers struct {
	batches *commands.Pipeline[*domain.Batch, domain.BatchCommand]
	psams   *commands.Pipeline[*domain.PSAM, domain.PSAMCommand]
	holders *commands.Pipeline[*domain.Cardholder, domain.CardholderCommand]
}

func newWriters(d Deps) (writers, error) {
	var w writers
	var err error
	if w.batches, err = commands.NewPipeline(domain.Batches, d.Store, d.Clock); err != nil {
		return writers{}, fmt.Errorf("batch: %w", err)
	}
	if w.psams, err = commands.NewPipeline(domain.PSAMs, d.Store, d.Clock); err != nil {
		return writers{}, fmt.Errorf("batch: %w", err)
	}
	if w.holders, err = commands.NewPipeline(domain.Cardholders, d.Store, d.Clock); err != nil {
		return writers{}, fmt.Errorf("batch: %w", err)
	}
	return w, nil
}
