package esdbstore

import (
	"context"
	"errors"
	"io"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cardledger/cardledger/eventstore"
)

// pageSize bounds one read request, so a long read is many short calls
// rather than one that outlives the client's per-call deadline.
const pageSize = 1024

// ReadStream returns up to limit events of stream from revision from.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
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

// readPage reads up to count events of stream from revision from, retrying
// while the server is unavailable.
func (s *Store) readPage(ctx context.Context, stream string, from, count uint64) ([]eventstore.RecordedEvent, error) {
	out, _, err := retry(ctx, s, func(ctx context.Context, c *esdb.Client) ([]eventstore.RecordedEvent, error) {
		rs, err := c.ReadStream(ctx, stream, esdb.ReadStreamOptions{From: esdb.Revision(from)}, count)
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
	return out, err
}

// ReadAll returns up to limit application events after position after.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	var out []eventstore.RecordedEvent
	for {
		want := 0 // application events still wanted; 0: all
		if limit > 0 {
			want = limit - len(out)
		}
		page, _, err := retry(ctx, s, func(ctx context.Context, c *esdb.Client) (allPage, error) {
			return readAllPage(ctx, c, after, want)
		})
		if err != nil {
			return nil, opError(ctx, "read $all", err)
		}
		out = append(out, page.events...)
		after = page.last
		if (limit > 0 && len(out) >= limit) || page.n < pageSize {
			return out, nil
		}
	}
}

// allPage is one page of a $all read: the application events after the
// read's start, the position read up to and how many events the server sent.
type allPage struct {
	events []eventstore.RecordedEvent
	last   eventstore.Position
	n      int
}

// readAllPage reads one page of $all after position after, stopping early
// once it holds want application events (0: no limit).
func readAllPage(ctx context.Context, c *esdb.Client, after eventstore.Position, want int) (allPage, error) {
	// The server includes the event at the position a read starts from.
	rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{From: allFrom(after)}, pageSize)
	if err != nil {
		return allPage{}, err
	}
	page := allPage{last: after}
	err = drain(rs, func(e *esdb.RecordedEvent) bool {
		page.n++
		p := position(e.Position)
		if !page.last.Less(p) {
			return true
		}
		page.last = p
		if !isSystem(e) {
			page.events = append(page.events, recorded(e))
		}
		return want == 0 || len(page.events) < want
	})
	return page, err
}

// Head returns the newest application event's position and time.
func (s *Store) Head(ctx context.Context) (eventstore.Head, bool, error) {
	var from esdb.AllPosition = esdb.End{}
	for {
		type found struct {
			head eventstore.Head
			ok   bool
			n    int
			last esdb.AllPosition
		}
		page, _, err := retry(ctx, s, func(ctx context.Context, c *esdb.Client) (found, error) {
			rs, err := c.ReadAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, pageSize)
			if err != nil {
				return found{}, err
			}
			f := found{last: from}
			err = drain(rs, func(e *esdb.RecordedEvent) bool {
				f.n++
				f.last = e.Position // backwards reads exclude their start
				if isSystem(e) {
					return true
				}
				f.head, f.ok = eventstore.Head{Position: position(e.Position), RecordedAt: e.CreatedDate}, true
				return false
			})
			return f, err
		})
		if err != nil {
			return eventstore.Head{}, false, opError(ctx, "head", err)
		}
		if page.ok || page.n < pageSize {
			return page.head, page.ok, nil
		}
		from = page.last
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
