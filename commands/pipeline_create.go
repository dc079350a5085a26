package commands

import (
	"context"
	"fmt"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Start is a command that starts a new stream of aggregate ID: Decide runs
// on the aggregate's new state.
type Start[S any] struct {
	ID     string
	Env    Envelope
	Decide func(S) ([]domain.Event, error)
}

// started decides start and encodes its events for a new stream.
func (p *Pipeline[S, C]) started(start Start[S]) (eventstore.StreamAppend, Outcome[S], error) {
	stream := p.kind.Stream(start.ID)
	state := p.kind.New(start.ID)
	events, err := start.Decide(state)
	if err != nil {
		return eventstore.StreamAppend{}, Outcome[S]{}, err
	}
	for _, e := range events {
		if err := p.kind.Apply(state, e); err != nil {
			return eventstore.StreamAppend{}, Outcome[S]{}, fmt.Errorf("%s: %w", stream, err)
		}
	}
	data, err := p.envelop(start.Env, stream, events)
	if err != nil {
		return eventstore.StreamAppend{}, Outcome[S]{}, err
	}
	return eventstore.StreamAppend{Stream: stream, Expected: eventstore.NoStream(), Events: data},
		Outcome[S]{Events: events, State: state}, nil
}

// Create appends the events of start as a new stream. A stream that exists
// already fails with eventstore.ErrWrongRevision (the event store answers a
// retry of the same events, same ids, as a success): a creation is never
// decided again on someone else's state.
func (p *Pipeline[S, C]) Create(ctx context.Context, start Start[S]) (Outcome[S], error) {
	a, out, err := p.started(start)
	if err != nil {
		return Outcome[S]{}, err
	}
	res, err := p.store.Append(ctx, a.Stream, a.Expected, a.Events)
	if err != nil {
		return Outcome[S]{}, fmt.Errorf("append %s: %w", a.Stream, err)
	}
	out.Revision, out.Position = res.Revision, res.Position
	return out, nil
}

// CreatesManyAtOnce reports whether CreateMany can run: the store appends
// many streams in one call (eventstore.MultiAppender). Bulk writers (the
// batch import) use it, one commit for hundreds of new streams, and fall
// back to Create one by one.
func (p *Pipeline[S, C]) CreatesManyAtOnce() bool {
	_, ok := p.store.(eventstore.MultiAppender)
	return ok
}

// CreateMany is Create for many new streams in one atomic AppendMany: all
// are written or none is; a stream that exists already fails the whole
// call with its *eventstore.WrongRevisionError. Needs CreatesManyAtOnce.
func (p *Pipeline[S, C]) CreateMany(ctx context.Context, starts []Start[S]) ([]Outcome[S], error) {
	multi, ok := p.store.(eventstore.MultiAppender)
	if !ok {
		return nil, fmt.Errorf("commands: %s pipeline: %w", p.kind.Name, eventstore.ErrAppendManyUnsupported)
	}
	appends := make([]eventstore.StreamAppend, len(starts))
	outs := make([]Outcome[S], len(starts))
	for i, st := range starts {
		a, out, err := p.started(st)
		if err != nil {
			return nil, err
		}
		appends[i], outs[i] = a, out
	}
	results, err := multi.AppendMany(ctx, appends)
	if err != nil {
		return nil, err
	}
	for i, r := range results {
		outs[i].Revision, outs[i].Position = r.Revision, r.Position
	}
	return outs, nil
}

// Log appends the events start decides on the aggregate's new state to its
// stream at whatever revision the stream is (eventstore.Any), without
// reading it: for append-only logs whose decisions read no state (the
// holder's e-card access log, domain.AccessLogs), so that one more entry
// costs one append however long the log grows, and concurrent entries
// never contend. The event ids derive from start.Env's command id as
// everywhere; a store that recognises a retried append by its ids (see
// eventstore) writes it once, others may record a retried entry twice,
// which a log of accesses may show.
func (p *Pipeline[S, C]) Log(ctx context.Context, start Start[S]) (Outcome[S], error) {
	a, out, err := p.started(start)
	if err != nil {
		return Outcome[S]{}, err
	}
	res, err := p.store.Append(ctx, a.Stream, eventstore.Any(), a.Events)
	if err != nil {
		return Outcome[S]{}, fmt.Errorf("append %s: %w", a.Stream, err)
	}
	out.Revision, out.Position = res.Revision, res.Position
	return out, nil
}
