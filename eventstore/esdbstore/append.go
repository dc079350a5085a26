package esdbstore

import (
	"context"
	"fmt"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
)

// maxChainAttempts bounds the reruns of an Any or StreamExists append that
// lost a race: each rerun means another writer appended, so progress is
// made; the bound only stops a pathological loop.
const maxChainAttempts = 100

// Append writes events to stream if it is at expected, each chained to the
// one before it (see the package doc). A retry with the same event ids
// returns the original result. While the server is unavailable or changes
// leader the append is resent, always the same events at the same exact
// revision, so it lands once however many answers were lost.
func (s *Store) Append(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (eventstore.AppendResult, error) {
	if len(events) == 0 {
		return eventstore.AppendResult{}, fmt.Errorf("append %s: no events", stream)
	}
	for i, e := range events {
		// The client would make up an id, which defeats idempotent retries.
		if e.ID == uuid.Nil {
			return eventstore.AppendResult{}, fmt.Errorf("append %s: event %d has no id", stream, i)
		}
	}
	// Refuse before sending: a server that ends the call while the client
	// is still sending leaves the client with nothing but EOF.
	if err := eventstore.CheckAppendSize(stream, events); err != nil {
		return eventstore.AppendResult{}, err
	}
	for attempt := 1; ; attempt++ {
		base, err := s.chainBase(ctx, stream, expected, events)
		if err != nil {
			return eventstore.AppendResult{}, err
		}
		if base.retried != nil {
			return *base.retried, nil
		}
		sent := chained(stream, base, events)
		if n := wireSize(sent); n > eventstore.MaxAppendSize {
			// Only metadata that is not JSON (stored base64) grows past
			// what the port counted.
			return eventstore.AppendResult{}, &eventstore.AppendTooLargeError{Stream: stream, Size: n, Max: eventstore.MaxAppendSize}
		}
		opts := esdb.AppendToStreamOptions{ExpectedRevision: base.expected}
		res, sends, err := retry(ctx, s, func(ctx context.Context, c *esdb.Client) (*esdb.WriteResult, error) {
			return c.AppendToStream(ctx, stream, opts, sent...)
		})
		if hasCode(err, esdb.ErrorCodeWrongExpectedVersion) && sends > 1 {
			// An earlier send may have landed with its answer lost.
			// EventStoreDB recognises the resend (same ids after the same
			// exact revision) and answers success; should it answer a
			// conflict instead (its id check missed), the events in place
			// are the proof that the append is done.
			done, ok, lerr := s.landed(ctx, stream, base.next, events)
			if lerr != nil {
				return eventstore.AppendResult{}, opError(ctx, "append "+stream+": look for a resent append", lerr)
			}
			if ok {
				return done, nil
			}
		}
		if hasCode(err, esdb.ErrorCodeWrongExpectedVersion) {
			if base.rerunOnConflict && attempt < maxChainAttempts {
				continue
			}
			return eventstore.AppendResult{}, s.wrongRevision(ctx, stream, expected, err)
		}
		if limit, ok := appendSizeExceeded(err); ok {
			return eventstore.AppendResult{}, fmt.Errorf("%w: %w", &eventstore.AppendTooLargeError{Stream: stream, Max: limit}, err)
		}
		if err != nil {
			return eventstore.AppendResult{}, opError(ctx, "append "+stream, err)
		}
		return s.appendResult(ctx, stream, res)
	}
}

// wireSize is what the server counts of events as esdbstore sends them
// (see esdbdouble's package doc): never more than eventstore.AppendSize of
// the caller's events while their metadata is JSON.
func wireSize(events []esdb.EventData) int {
	n := 0
	for _, e := range events {
		n += len(e.Data) + len(e.Metadata) + 2*len(e.EventType)
	}
	return n
}

// base is where an append's chain starts.
type base struct {
	// expected is sent to the server: always exact (or no stream) when the
	// chain depends on it, so a race fails instead of forking the chain.
	expected esdb.ExpectedRevision
	next     uint64 // revision of the first new event
	prev     []byte // hash of the event before it
	// rerunOnConflict: the caller accepted the stream in more than one
	// state, so a lost race is retried on the new state.
	rerunOnConflict bool
	// retried is set when the events are already the stream's last ones.
	retried *eventstore.AppendResult
}

// chainBase reads what the chain of the new events starts from. For an
// exact or no-stream expectation it is the expected event itself; when the
// stream is elsewhere the server refuses the append or recognises a retry,
// and writes nothing either way, so the chain is only used when it is right.
func (s *Store) chainBase(ctx context.Context, stream string, expected eventstore.ExpectedRevision, events []eventstore.EventData) (base, error) {
	if expected.IsNoStream() {
		return base{expected: esdb.NoStream{}}, nil
	}
	if rev, ok := expected.Revision(); ok {
		// The same read shows whether the events are already right after
		// rev (a retry), which the server would answer as a success.
		page, err := s.readPage(ctx, stream, rev, 1+uint64(len(events)))
		if err != nil && !hasCode(err, esdb.ErrorCodeResourceNotFound) {
			return base{}, opError(ctx, "append "+stream+": read the chain's last event", err)
		}
		if len(page) == 1+len(events) && page[0].Revision == rev && isRetry(page[1:], events) {
			last := page[len(page)-1]
			return base{retried: &eventstore.AppendResult{Revision: last.Revision, Position: last.Position, Retried: true}}, nil
		}
		b := base{expected: esdb.StreamRevision{Value: rev}, next: rev + 1}
		if len(page) > 0 && page[0].Revision == rev {
			b.prev = page[0].Hash
		}
		return b, nil
	}
	// Any or StreamExists: chain to the stream's current last event. Reading
	// as many events as are appended also shows whether this is a retry.
	tail, err := s.readTail(ctx, stream, uint64(len(events)))
	if err != nil {
		return base{}, opError(ctx, "append "+stream+": read the chain's last event", err)
	}
	if len(tail) == 0 {
		if expected.IsStreamExists() {
			return base{}, &eventstore.WrongRevisionError{Stream: stream, Expected: expected}
		}
		return base{expected: esdb.NoStream{}, rerunOnConflict: true}, nil
	}
	last := tail[len(tail)-1]
	if isRetry(tail, events) {
		return base{retried: &eventstore.AppendResult{Revision: last.Revision, Position: last.Position, Retried: true}}, nil
	}
	return base{expected: esdb.StreamRevision{Value: last.Revision}, next: last.Revision + 1, prev: last.Hash, rerunOnConflict: true}, nil
}

// isRetry reports whether tail (a stream's last events, oldest first) are
// events, in order.
func isRetry(tail []eventstore.RecordedEvent, events []eventstore.EventData) bool {
	if len(tail) != len(events) {
		return false
	}
	for i, e := range events {
		if tail[i].ID != e.ID {
			return false
		}
	}
	return true
}

var _ eventstore.RetryReporter = (*Store)(nil)

// ReportsRetry is false for NoStream: such an append reads nothing before
// it is sent, and the server answers a retry of it as a success like any
// other (the client does not say which). Exact, Any and StreamExists
// appends read the stream first (chainBase) and find a retry there; one
// whose first copy lands between that read and the send is still answered
// as written.
func (s *Store) ReportsRetry(expected eventstore.ExpectedRevision) bool {
	return !expected.IsNoStream()
}

// landed reports whether events are stream's events from revision next on,
// and if so the append's result.
func (s *Store) landed(ctx context.Context, stream string, next uint64, events []eventstore.EventData) (eventstore.AppendResult, bool, error) {
	page, err := s.readPage(ctx, stream, next, uint64(len(events)))
	if hasCode(err, esdb.ErrorCodeResourceNotFound) {
		return eventstore.AppendResult{}, false, nil
	}
	if err != nil || !isRetry(page, events) || page[0].Revision != next {
		return eventstore.AppendResult{}, false, err
	}
	last := page[len(page)-1]
	return eventstore.AppendResult{Revision: last.Revision, Position: last.Position}, true, nil
}

// readTail returns up to n last events of stream, oldest first; none for a
// missing stream.
func (s *Store) readTail(ctx context.Context, stream string, n uint64) ([]eventstore.RecordedEvent, error) {
	out, _, err := retry(ctx, s, func(ctx context.Context, c *esdb.Client) ([]eventstore.RecordedEvent, error) {
		rs, err := c.ReadStream(ctx, stream, esdb.ReadStreamOptions{Direction: esdb.Backwards, From: esdb.End{}}, n)
		if err != nil {
			return nil, err
		}
		var out []eventstore.RecordedEvent
		err = drain(rs, func(e *esdb.RecordedEvent) bool {
			out = append(out, recorded(e))
			return true
		})
		return out, err
	})
	if hasCode(err, esdb.ErrorCodeResourceNotFound) {
		return nil, nil
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, err
}

// chained builds the events to send, each with its chain hash in the
// metadata envelope.
func chained(stream string, b base, events []eventstore.EventData) []esdb.EventData {
	out := make([]esdb.EventData, len(events))
	prev := b.prev
	for i, e := range events {
		hash := chain.Hash(prev, chain.Event{Stream: stream, Revision: b.next + uint64(i), ID: e.ID,
			Type: e.Type, Data: e.Data, Metadata: e.Metadata})
		out[i] = esdb.EventData{
			EventID:     e.ID,
			EventType:   e.Type,
			ContentType: esdb.ContentTypeJson,
			Data:        e.Data,
			Metadata:    chain.EncodeMetadata(hash, e.Metadata),
		}
		prev = hash
	}
	return out
}

func (s *Store) appendResult(ctx context.Context, stream string, res *esdb.WriteResult) (eventstore.AppendResult, error) {
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
	tail, err := s.readTail(ctx, stream, 1)
	if err != nil || len(tail) == 0 {
		return 0, false, err
	}
	return tail[0].Revision, true, nil
}
