package batch

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// maxAttempts bounds re-decisions when another writer moved a batch or PSAM stream.
const maxAttempts = 8

// loadedBatch is a batch as read from its stream.
type loadedBatch struct {
	batch    *domain.Batch
	exists   bool
	revision uint64
}

func (s *Service) loadBatch(ctx context.Context, batchID string) (loadedBatch, error) {
	stream := domain.BatchStreamFor(batchID)
	recs, err := s.store.ReadStream(ctx, stream, 0, 0)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return loadedBatch{batch: &domain.Batch{}}, nil
	}
	if err != nil {
		return loadedBatch{}, fmt.Errorf("load %s: %w", stream, err)
	}
	b := &domain.Batch{}
	for _, r := range recs {
		e, err := domain.DecodeStoredBatchEvent(r.Type, r.Data, r.Metadata)
		if err != nil {
			return loadedBatch{}, fmt.Errorf("load %s revision %d: %w", stream, r.Revision, err)
		}
		if err := b.Apply(e); err != nil {
			return loadedBatch{}, err
		}
	}
	return loadedBatch{batch: b, exists: len(recs) > 0, revision: recs[len(recs)-1].Revision}, nil
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

// updateBatch loads the batch, decides cmd and appends the events at the
// revision it loaded, deciding again if another writer got there first.
// The command id derives from the batch, the command and the revision, so
// a retry of a command whose append succeeded writes nothing.
func (s *Service) updateBatch(ctx context.Context, batchID string, cmd domain.BatchCommand) (*domain.Batch, []domain.Event, error) {
	stream := domain.BatchStreamFor(batchID)
	for attempt := 1; ; attempt++ {
		l, err := s.loadBatch(ctx, batchID)
		if err != nil {
			return nil, nil, err
		}
		events, err := domain.DecideBatch(l.batch, cmd)
		if err != nil || len(events) == 0 {
			return l.batch, nil, err
		}
		expected := eventstore.NoStream()
		rev := "none"
		if l.exists {
			expected, rev = eventstore.Exact(l.revision), strconv.FormatUint(l.revision, 10)
		}
		id := commandID("batch", batchID, cmd.CommandName(), rev)
		_, err = s.appendEvents(ctx, stream, expected, id, batchID, events, domain.EncodeBatchEvent)
		if err == nil {
			for _, e := range events {
				if err := l.batch.Apply(e); err != nil {
					return nil, nil, err
				}
			}
			return l.batch, events, nil
		}
		if !errors.Is(err, eventstore.ErrWrongRevision) || attempt >= maxAttempts {
			return nil, nil, err
		}
	}
}

type encodeFunc func(domain.Event) (string, []byte, error)

// appendEvents encodes events with metadata and ids derived from id.
func (s *Service) appendEvents(ctx context.Context, stream string, expected eventstore.ExpectedRevision, id uuid.UUID,
	correlation string, events []domain.Event, encode encodeFunc) (eventstore.AppendResult, error) {
	return s.appendCaused(ctx, stream, expected, id, id.String(), correlation, events, encode)
}

// causedEventData encodes events with metadata and ids derived from id.
func (s *Service) causedEventData(stream string, id uuid.UUID, causation, correlation string,
	events []domain.Event, encode encodeFunc) ([]eventstore.EventData, error) {
	now := s.clock().UTC()
	data := make([]eventstore.EventData, len(events))
	for i, e := range events {
		typ, payload, err := encode(e)
		if err != nil {
			return nil, err
		}
		eid := commands.EventID(id, stream, i)
		md, err := domain.EncodeMetadata(domain.Metadata{
			EventID: eid.String(), SchemaVersion: domain.SchemaVersion(typ), OccurredAt: now, Actor: s.actor,
			Channel: "batch", CorrelationID: correlation, CausationID: causation,
		})
		if err != nil {
			return nil, fmt.Errorf("encode metadata: %w", err)
		}
		data[i] = eventstore.EventData{ID: eid, Type: typ, Data: payload, Metadata: md}
	}
	return data, nil
}

// appendCaused is appendEvents with a causation id other than the command id.
func (s *Service) appendCaused(ctx context.Context, stream string, expected eventstore.ExpectedRevision, id uuid.UUID,
	causation, correlation string, events []domain.Event, encode encodeFunc) (eventstore.AppendResult, error) {
	data, err := s.causedEventData(stream, id, causation, correlation, events, encode)
	if err != nil {
		return eventstore.AppendResult{}, err
	}
	res, err := s.store.Append(ctx, stream, expected, data)
	if err != nil {
		return res, fmt.Errorf("append %s: %w", stream, err)
	}
	s.written.advance(res.Position)
	return res, nil
}
