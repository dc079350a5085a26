package esdbstore

import (
	"context"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
)

// Append writes events to stream if it is at expected. A retry with the
// same event ids is recognised by the server and returns the original
// result.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if len(events) == 0 {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: no events", stream)
	}
	data := make([]esdb.EventData, len(events))
	for i, e := range events {
		// The client would make up an id, which defeats idempotent retries.
		if e.ID == uuid.Nil {
			return eventstore.AppendResult{}, fmt.Errorf("append %s: event %d has no id", stream, i)
		}
		data[i] = esdb.EventData{
			EventID:     e.ID,
			EventType:   e.Type,
			ContentType: esdb.ContentTypeJson,
			Data:        e.Data,
			Metadata:    e.Metadata,
		}
	}
	release, err := s.use()
	if err != nil {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: %w", stream, err)
	}
	defer release()
	res, err := s.client.AppendToStream(ctx, stream, esdb.AppendToStreamOptions{ExpectedRevision: expectedRevision(expected)}, data...)
	if hasCode(err, esdb.ErrorCodeWrongExpectedVersion) {
		return eventstore.AppendResult{}, s.wrongRevision(ctx, stream, expected, err)
	}
	if err != nil {
		return eventstore.AppendResult{}, opError(ctx, "append "+stream, err)
	}
	out := eventstore.AppendResult{
		Revision: res.NextExpectedVersion,
		Position: eventstore.Position{Commit: res.CommitPosition, Prepare: res.PreparePosition},
	}
	if out.Position == eventstore.Start {
		// The server may answer without a position (no_position); the last
		// event itself knows it.
		last, err := s.readPage(ctx, stream, out.Revision, 1)
		if err != nil || len(last) != 1 {
			return eventstore.AppendResult{}, fmt.Errorf("append %s: find position of revision %d: %w", stream, out.Revision, err)
		}
		out.Position = last[0].Position
	}
	return out, nil
}

// wrongRevision builds the port's error from the server's answer. The
// client keeps the actual revision only in its message; if that ever
// changes, reading the stream's last event is the fallback.
func (s *Store) wrongRevision(ctx context.Context, stream string, expected eventstore.ExpectedRevision, err error) error {
	wre := &eventstore.WrongRevisionError{Stream: stream, Expected: expected}
	if rev, exists, ok := actualRevision(err); ok {
		wre.Actual, wre.ActualExists = rev, exists
		return wre
	}
	rev, exists, rerr := s.lastRevision(ctx, stream)
	if rerr != nil {
		return fmt.Errorf("append %s: %w (actual revision unknown: %v)", stream, eventstore.ErrWrongRevision, rerr)
	}
	wre.Actual, wre.ActualExists = rev, exists
	return wre
}

func (s *Store) lastRevision(ctx context.Context, stream string) (uint64, bool, error) {
	rs, err := s.client.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, 1)
	if err != nil {
		return 0, false, err
	}
	defer rs.Close()
	ev, err := rs.Recv()
	if hasCode(err, esdb.ErrorCodeResourceNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return ev.OriginalEvent().EventNumber, true, nil
}
