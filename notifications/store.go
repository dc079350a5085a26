package notifications

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/eventstore"
)

// migrateLockKey serialises concurrent Migrate calls.
const migrateLockKey = 0x6e_6f_74_69_66 // "notif"

// checkpoint: one row per notifier (its projection name): the position of
// the last event all of whose messages are done, and how many messages of
// the event after it are done already (sent or dead-lettered), with the
// failed attempts on the one after those.
//
// dead_letters: messages given up after MaxAttempts. They name the event,
// the message's index, kind and medium, never the recipient or the text:
// an erasure must have nothing to reach here.
const schemaDDL = `
CREATE SCHEMA IF NOT EXISTS notifications;
CREATE TABLE IF NOT EXISTS notifications.checkpoint (
	name        text   PRIMARY KEY,
	pos_commit  bigint NOT NULL,
	pos_prepare bigint NOT NULL,
	done        int    NOT NULL DEFAULT 0,
	attempts    int    NOT NULL DEFAULT 0,
	last_error  text   NOT NULL DEFAULT '',
	sent        bigint NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS notifications.dead_letters (
	event_id    uuid        NOT NULL,
	idx         int         NOT NULL,
	pos_commit  bigint      NOT NULL,
	pos_prepare bigint      NOT NULL,
	stream      text        NOT NULL,
	kind        text        NOT NULL,
	medium      text        NOT NULL,
	attempts    int         NOT NULL,
	last_error  text        NOT NULL,
	at          timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (event_id, idx)
);
`

// Migrate creates the notifier's tables; idempotent. A notifier that has
// no checkpoint yet starts after from (the log's head when notifications
// are first turned on): turning them on does not notify the past.
func Migrate(ctx context.Context, pool *pgxpool.Pool, from eventstore.Position) error {
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, schemaDDL); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO notifications.checkpoint (name, pos_commit, pos_prepare) VALUES ($1,$2,$3)
			ON CONFLICT (name) DO NOTHING`, ProjectionName, int64(from.Commit), int64(from.Prepare))
		return err
	})
	if err != nil {
		return fmt.Errorf("notifications: migrate: %w", err)
	}
	return nil
}

// progress is the stored checkpoint.
type progress struct {
	Position  eventstore.Position
	Done      int // message slots (Message.Index) of the event after Position below this are sent or dead-lettered
	Attempts  int // failed calls of the message after those
	LastError string
	Sent      int64
}

// DeadLetter is a message given up on.
type DeadLetter struct {
	EventID   uuid.UUID           `json:"event_id"`
	Index     int                 `json:"index"`
	Position  eventstore.Position `json:"-"`
	Stream    string              `json:"stream"`
	Kind      string              `json:"kind"`
	Medium    Medium              `json:"medium"`
	Attempts  int                 `json:"attempts"`
	LastError string              `json:"last_error"`
	At        time.Time           `json:"at"`
}

type repo struct {
	pool *pgxpool.Pool
	name string
}

func (r repo) load(ctx context.Context) (progress, error) {
	var p progress
	var c, pr int64
	err := r.pool.QueryRow(ctx, `SELECT pos_commit, pos_prepare, done, attempts, last_error, sent
		FROM notifications.checkpoint WHERE name = $1`, r.name).Scan(&c, &pr, &p.Done, &p.Attempts, &p.LastError, &p.Sent)
	if errors.Is(err, pgx.ErrNoRows) {
		return progress{Position: eventstore.Start}, nil
	}
	if err != nil {
		return progress{}, fmt.Errorf("notifications: read checkpoint: %w", err)
	}
	p.Position = eventstore.Position{Commit: uint64(c), Prepare: uint64(pr)}
	return p, nil
}

func (r repo) store(ctx context.Context, q pgxExec, p progress) error {
	_, err := q.Exec(ctx, `INSERT INTO notifications.checkpoint (name, pos_commit, pos_prepare, done, attempts, last_error, sent)
		VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (name) DO UPDATE SET pos_commit = EXCLUDED.pos_commit,
		pos_prepare = EXCLUDED.pos_prepare, done = EXCLUDED.done, attempts = EXCLUDED.attempts,
		last_error = EXCLUDED.last_error, sent = EXCLUDED.sent`,
		r.name, int64(p.Position.Commit), int64(p.Position.Prepare), p.Done, p.Attempts, p.LastError, p.Sent)
	if err != nil {
		return fmt.Errorf("notifications: store checkpoint %s/%d: %w", p.Position, p.Done, err)
	}
	return nil
}

type pgxExec interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// deadLetter records message i of ev as given up and the progress past it,
// atomically.
func (r repo) deadLetter(ctx context.Context, ev eventstore.RecordedEvent, i int, m Message, attempts int, msg string, p progress) error {
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO notifications.dead_letters
			(event_id, idx, pos_commit, pos_prepare, stream, kind, medium, attempts, last_error)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
			ON CONFLICT (event_id, idx) DO UPDATE SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error, at = now()`,
			ev.ID, i, int64(ev.Position.Commit), int64(ev.Position.Prepare), ev.Stream, m.Kind, string(m.Medium), attempts, msg); err != nil {
			return err
		}
		return r.store(ctx, tx, p)
	})
	if err != nil {
		return fmt.Errorf("notifications: dead-letter message %d of %s: %w", i, ev.ID, err)
	}
	return nil
}

// DeadLetters lists the messages given up, oldest first.
func (r repo) deadLetters(ctx context.Context) ([]DeadLetter, error) {
	rows, err := r.pool.Query(ctx, `SELECT event_id, idx, pos_commit, pos_prepare, stream, kind, medium, attempts, last_error, at
		FROM notifications.dead_letters ORDER BY pos_commit, pos_prepare, idx`)
	if err != nil {
		return nil, fmt.Errorf("notifications: dead letters: %w", err)
	}
	defer rows.Close()
	out := []DeadLetter{}
	for rows.Next() {
		var d DeadLetter
		var c, p int64
		if err := rows.Scan(&d.EventID, &d.Index, &c, &p, &d.Stream, &d.Kind, &d.Medium, &d.Attempts, &d.LastError, &d.At); err != nil {
			return nil, fmt.Errorf("notifications: dead letters: %w", err)
		}
		d.Position = eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}
		out = append(out, d)
	}
	return out, rows.Err()
}
