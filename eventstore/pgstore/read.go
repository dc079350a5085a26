package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/cardledger/cardledger/eventstore"
)

const eventColumns = `stream, revision, xid, seq, id, type, data, metadata, recorded_at, hash`

func scanEvents(rows pgx.Rows) ([]eventstore.RecordedEvent, error) {
	defer rows.Close()
	var events []eventstore.RecordedEvent
	for rows.Next() {
		var (
			e   eventstore.RecordedEvent
			rev int64
			id  [16]byte
		)
		if err := rows.Scan(&e.Stream, &rev, &e.Position.Commit, &e.Position.Prepare,
			&id, &e.Type, &e.Data, &e.Metadata, &e.RecordedAt, &e.Hash); err != nil {
			return nil, err
		}
		e.Revision = uint64(rev)
		e.ID = uuid.UUID(id)
		events = append(events, e)
	}
	return events, rows.Err()
}

// sqlLimit maps the port's "limit <= 0 means all" to SQL's LIMIT NULL.
func sqlLimit(limit int) *int64 {
	if limit <= 0 {
		return nil
	}
	l := int64(limit)
	return &l
}

// ReadStream reads stream forwards from revision from. Stream reads see every
// committed event; they are not held back like $all (see visibility.go).
// A whole stream (from 0, no limit) comes through the stream cache.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	var (
		events []eventstore.RecordedEvent
		err    error
	)
	if from == 0 && limit <= 0 && s.streams != nil {
		events, err = s.streams.readAll(ctx, stream, func(ctx context.Context, from uint64) ([]eventstore.RecordedEvent, error) {
			return s.readStream(ctx, stream, from, 0)
		})
	} else {
		events, err = s.readStream(ctx, stream, from, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if len(events) > 0 {
		return events, nil
	}
	// Every stream has a revision 0, so an empty read from 0 means "no
	// stream" in the statement's own snapshot. Asking EXISTS in a second
	// statement instead would see an append that committed in between and
	// answer "exists, but empty".
	if from == 0 {
		return nil, fmt.Errorf("read stream %s: %w", stream, eventstore.ErrStreamNotFound)
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM eventstore_events WHERE stream = $1)`,
		stream).Scan(&exists); err != nil {
		return nil, fmt.Errorf("read stream %s: %w", stream, err)
	}
	if !exists {
		return nil, fmt.Errorf("read stream %s: %w", stream, eventstore.ErrStreamNotFound)
	}
	return nil, nil
}

func (s *Store) readStream(ctx context.Context, stream string, from uint64, limit int) ([]eventstore.RecordedEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM eventstore_events
		WHERE stream = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
		stream, int64(from), sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

// ReadAll reads the global log after position after. limit <= 0 reads all.
func (s *Store) ReadAll(ctx context.Context, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	events, err := readAll(ctx, s.pool, after, limit)
	if err != nil {
		return nil, fmt.Errorf("read $all after %s: %w", after, err)
	}
	return events, nil
}

// readAllSQL reads $all after a position ($1, $2), at most $3 events.
const readAllSQL = `SELECT ` + eventColumns + ` FROM eventstore_events
	WHERE (xid, seq) > ($1::xid8, $2::bigint) AND ` + visibleAfter + `
	ORDER BY xid, seq LIMIT $3`

func readAll(ctx context.Context, q querier, after eventstore.Position, limit int) ([]eventstore.RecordedEvent, error) {
	rows, err := q.Query(ctx, readAllSQL, after.Commit, int64(after.Prepare), sqlLimit(limit))
	if err != nil {
		return nil, err
	}
	return scanEvents(rows)
}

// Head returns the newest event visible to $all readers.
func (s *Store) Head(ctx context.Context) (eventstore.Head, bool, error) {
	var h eventstore.Head
	err := s.pool.QueryRow(ctx, `SELECT xid, seq, recorded_at FROM eventstore_events
		WHERE `+visibleToAll+` ORDER BY xid DESC, seq DESC LIMIT 1`).
		Scan(&h.Position.Commit, &h.Position.Prepare, &h.RecordedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Head{}, false, nil
	}
	if err != nil {
		return eventstore.Head{}, false, fmt.Errorf("head: %w", err)
	}
	return h, true, nil
}
