package notifications

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/eventstore"
)

// Redelivery of a dead letter. Not a rewind of the checkpoint, as the
// deliveries' redelivery is: that would send every later message of every
// holder again. One message is composed again from its event, as when it
// was first tried (recipient, opt-out and erasure of now), and sent once
// with the same id; the dead letter goes only after the medium accepted
// it, so a crash in between leaves it listed and the message may arrive
// twice, recognisably (at least once, like the notifier).

// Redelivery outcomes.
const (
	// RedeliverySent: the medium accepted the message; the dead letter is gone.
	RedeliverySent = "sent"
	// RedeliveryWithdrawn: there is nothing to send any more (the holder
	// opted out of the medium or was erased, or the medium is no longer
	// configured); the dead letter is gone.
	RedeliveryWithdrawn = "withdrawn"
)

var (
	// ErrDeadLetterNotFound: no dead letter has that message id.
	ErrDeadLetterNotFound = errors.New("notifications: no such dead letter")
	// ErrRedeliveryFailed: the medium refused the message again; the dead
	// letter stays, with one attempt more and the new error.
	ErrRedeliveryFailed = errors.New("notifications: redelivery failed")
)

// Redelivered is the outcome of one redelivery.
type Redelivered struct {
	MessageID string `json:"message_id"`
	Kind      string `json:"kind"`
	Medium    Medium `json:"medium"`
	Outcome   string `json:"outcome"`
}

// ParseMessageID splits "<event id>-<index>".
func ParseMessageID(id string) (uuid.UUID, int, error) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return uuid.UUID{}, 0, fmt.Errorf("message id %q is not <event id>-<index>", id)
	}
	ev, err := uuid.Parse(id[:i])
	if err != nil {
		return uuid.UUID{}, 0, fmt.Errorf("message id %q: event id: %w", id, err)
	}
	var idx int
	if _, err := fmt.Sscanf(id[i+1:], "%d", &idx); err != nil || fmt.Sprint(idx) != id[i+1:] || idx < 0 {
		return uuid.UUID{}, 0, fmt.Errorf("message id %q: index is not a number", id)
	}
	return ev, idx, nil
}

// Redeliver sends dead letter (event id, index) once more. The row is
// locked while it is sent, so two operators redelivering it at once send
// it once.
func (p *Projection) Redeliver(ctx context.Context, eventID uuid.UUID, idx int) (Redelivered, error) {
	out := Redelivered{MessageID: fmt.Sprintf("%s-%d", eventID, idx)}
	var failed error
	err := pgx.BeginFunc(ctx, p.repo.pool, func(tx pgx.Tx) error {
		var stream string
		err := tx.QueryRow(ctx, `SELECT stream, kind, medium FROM notifications.dead_letters
			WHERE event_id = $1 AND idx = $2 FOR UPDATE`, eventID, idx).Scan(&stream, &out.Kind, &out.Medium)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrDeadLetterNotFound
		}
		if err != nil {
			return err
		}
		ev, err := p.event(ctx, stream, eventID)
		if err != nil {
			return err
		}
		msgs, err := p.compose(ctx, ev)
		if err != nil {
			return err
		}
		fields := logrus.Fields{"event_id": eventID, "message": out.MessageID, "kind": out.Kind, "medium": out.Medium}
		out.Outcome = RedeliveryWithdrawn
		for _, m := range msgs {
			if m.Index != idx {
				continue
			}
			if err := p.senders[m.Medium].Send(ctx, m); err != nil {
				msg := strings.ReplaceAll(err.Error(), m.To, "<recipient>")
				p.log.WithFields(fields).WithField("error", msg).Warn("notifications: redelivery failed")
				failed = fmt.Errorf("%w: %s", ErrRedeliveryFailed, msg)
				_, err := tx.Exec(ctx, `UPDATE notifications.dead_letters SET attempts = attempts + 1, last_error = $3, at = now()
					WHERE event_id = $1 AND idx = $2`, eventID, idx, msg)
				return err
			}
			out.Outcome = RedeliverySent
		}
		p.log.WithFields(fields).WithField("outcome", out.Outcome).Info("notifications: dead letter redelivered")
		_, err = tx.Exec(ctx, `DELETE FROM notifications.dead_letters WHERE event_id = $1 AND idx = $2`, eventID, idx)
		return err
	})
	if errors.Is(err, ErrDeadLetterNotFound) {
		return out, err
	}
	if err != nil {
		return out, fmt.Errorf("notifications: redeliver %s: %w", out.MessageID, err)
	}
	return out, failed
}

// event is the stored event id of stream.
func (p *Projection) event(ctx context.Context, stream string, id uuid.UUID) (eventstore.RecordedEvent, error) {
	var from uint64
	for {
		stored, err := p.store.ReadStream(ctx, stream, from, 1000)
		if err != nil {
			return eventstore.RecordedEvent{}, fmt.Errorf("read %s: %w", stream, err)
		}
		for _, r := range stored {
			if r.ID == id {
				return r, nil
			}
		}
		if len(stored) < 1000 {
			return eventstore.RecordedEvent{}, fmt.Errorf("event %s is not in %s", id, stream)
		}
		from = stored[len(stored)-1].Revision + 1
	}
}
