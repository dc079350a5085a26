package esdbstore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cardledger/cardledger/eventstore"
)

// pageSize bounds one read request, so a long read is many short calls
// rather than one that outlives the client's per-call deadline.
const pageSize = 1024

// ReadStream returns up to limit events of stream from revision from.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	release, err := s.use()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	defer release()
	var out []eventstore.RecordedEvent
	for {
		want := uint64(pageSize)
		if limit > 0 {
			want = min(want, uint64(limit-len(out)))
		}
		page, err := s.readPage(ctx, stream, from, want)
		if err != nil {
			return nil, opError(ctx, "read "+stream, err)
		}
		out = append(out, page...)
		if uint64(len(page)) < want || (limit > 0 && len(out) >= limit) {
			return out, nil
		}
		from = page[len(page)-1].Revision + 1
	}
}

func (s *Store) readPage(ctx context.Context, stream string, from, count uint64) ([]eventstore.RecordedEvent, error) {
	rs, err := s.client.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Revision(from)}, count)
	if err != nil {
		return nil, err
	}
	var out []eventstore.RecordedEvent
	err = drain(rs, func(e *esdb.RecordedEvent) bool {
		out = append(out, recorded(e))
		return true
	})
	return out, err
}

// ReadAll returns up to limit application events after position after.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	release, err := s.use()
	if err != nil {
		return nil, fmt.Errorf("read $all: %w", err)
	}
	defer release()
	var out []eventstore.RecordedEvent
	for {
		// The server includes the event at the position a read starts from.
		rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{From: allFrom(after)}, pageSize)
		if err != nil {
			return nil, opError(ctx, "read $all", err)
		}
		n, full := 0, false
		err = drain(rs, func(e *esdb.RecordedEvent) bool {
			n++
			p := position(e.Position)
			if !after.Less(p) {
				return true
			}
			after = p
			if !isSystem(e) {
				out = append(out, recorded(e))
			}
			full = limit > 0 && len(out) >= limit
			return !full
		})
		if err != nil {
			return nil, opError(ctx, "read $all", err)
		}
		if full || n < pageSize {
			return out, nil
		}
	}
}

// Head returns the newest application event's position and time.
func (s *Store) Head(ctx context.Context) (eventstore.Head, bool, error) {
	release, err := s.use()
	if err != nil {
		return eventstore.Head{}, false, fmt.Errorf("head: %w", err)
	}
	defer release()
	var from esdb.AllPosition = esdb.End{}
	for {
		rs, err := s.client.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, pageSize)
		if err != nil {
			return eventstore.Head{}, false, opError(ctx, "head", err)
		}
		var (
			head  eventstore.Head
			found bool
			n     int
		)
		err = drain(rs, func(e *esdb.RecordedEvent) bool {
			n++
			from = e.Position // backwards reads exclude their start
			if isSystem(e) {
				return true
			}
			head, found = eventstore.Head{Position: position(e.Position), RecordedAt: e.CreatedDate}, true
			return false
		})
		if err != nil {
			return eventstore.Head{}, false, opError(ctx, "head", err)
		}
		if found || n < pageSize {
			return head, found, nil
		}
	}
}

// drain feeds a read's events to yield until the read ends or yield
// returns false, and closes the read.
func drain(rs *esdb.ReadStream, yield func(*esdb.RecordedEvent) bool) error {
	defer rs.Close()
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if e := ev.OriginalEvent(); e != nil && !yield(e) {
			return nil
		}
	}
}
