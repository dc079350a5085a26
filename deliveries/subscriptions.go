package deliveries

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/eventstore"
)

// Problem codes of the subscription routes.
const (
	CodeReceiverNotPublic     = "receiver_not_public"
	CodeSubscriptionNotFound  = "subscription_not_found"
	CodeSubscriptionNeedsBank = "subscription_needs_bank"
)

// ErrNotFound: no subscription with that id (or not the caller's).
var ErrNotFound = errors.New("deliveries: no such subscription")

// Subscription is one party's standing order for events.
type Subscription struct {
	ID         uuid.UUID
	Owner      string // the client that made it
	URL        string
	EventTypes []string
	Region     string              // "" every region
	Bank       string              // "" every bank (admins only)
	Merchant   string              // a payment merchant's notifications (merchants.go)
	Position   eventstore.Position // last event delivered or dead-lettered
	Delivered  int64
	Attempts   int // failed attempts on the event after Position
	LastError  string
	Generation int64 // redeliveries so far
	CreatedAt  time.Time
	// sealedSecret is the HMAC key as stored, sealed (secrets.go).
	sealedSecret []byte
}

// errRewound: a redelivery moved the checkpoint since the worker loaded the
// subscription; the worker stops and the next batch starts from there.
var errRewound = errors.New("deliveries: subscription rewound by a redelivery")

// DeadLetter is an event given up on.
type DeadLetter struct {
	EventID   uuid.UUID
	Position  eventstore.Position
	Type      string
	Stream    string
	Attempts  int
	LastError string
	At        time.Time
}

type repo struct{ pool *pgxpool.Pool }

// insert adds s; false if a subscription with its id exists.
func (r repo) insert(ctx context.Context, s Subscription) (bool, error) {
	tag, err := r.pool.Exec(ctx, `INSERT INTO deliveries.subscriptions
		(id, owner, url, event_types, region, bank, secret, pos_commit, pos_prepare, merchant)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO NOTHING`,
		s.ID, s.Owner, s.URL, s.EventTypes, s.Region, s.Bank, s.sealedSecret, int64(s.Position.Commit), int64(s.Position.Prepare), s.Merchant)
	if err != nil {
		return false, fmt.Errorf("deliveries: insert subscription: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

const subscriptionColumns = `id, owner, url, event_types, region, bank, secret, pos_commit, pos_prepare,
	delivered, attempts, last_error, generation, created_at, merchant`

func scanSubscription(row pgx.Row) (Subscription, error) {
	var s Subscription
	var c, p int64
	err := row.Scan(&s.ID, &s.Owner, &s.URL, &s.EventTypes, &s.Region, &s.Bank, &s.sealedSecret, &c, &p,
		&s.Delivered, &s.Attempts, &s.LastError, &s.Generation, &s.CreatedAt, &s.Merchant)
	s.Position = eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}
	return s, err
}

func (r repo) get(ctx context.Context, id uuid.UUID) (Subscription, error) {
	s, err := scanSubscription(r.pool.QueryRow(ctx, `SELECT `+subscriptionColumns+
		` FROM deliveries.subscriptions WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return Subscription{}, ErrNotFound
	}
	if err != nil {
		return Subscription{}, fmt.Errorf("deliveries: read subscription %s: %w", id, err)
	}
	return s, nil
}

func (r repo) all(ctx context.Context) ([]Subscription, error) {
	rows, err := r.pool.Query(ctx, `SELECT `+subscriptionColumns+` FROM deliveries.subscriptions ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("deliveries: list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []Subscription
	for rows.Next() {
		s, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("deliveries: list subscriptions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// delivered advances the checkpoint past an event the receiver accepted.
func (r repo) delivered(ctx context.Context, s Subscription, pos eventstore.Position) error {
	tag, err := r.pool.Exec(ctx, `UPDATE deliveries.subscriptions SET pos_commit=$2, pos_prepare=$3,
		delivered = delivered + 1, attempts = 0, last_error = '' WHERE id = $1 AND generation = $4`,
		s.ID, int64(pos.Commit), int64(pos.Prepare), s.Generation)
	return updated(tag.RowsAffected(), err, "advance %s to %s", s.ID, pos)
}

// updated turns an update of one subscription row into errRewound when it
// matched no row of the worker's generation.
func updated(rows int64, err error, format string, args ...any) error {
	if err != nil {
		return fmt.Errorf("deliveries: "+format+": %w", append(args, err)...)
	}
	if rows == 0 {
		return errRewound
	}
	return nil
}

// skipped advances the checkpoint past events the subscription does not take.
func (r repo) skipped(ctx context.Context, s Subscription, pos eventstore.Position) error {
	_, err := r.pool.Exec(ctx, `UPDATE deliveries.subscriptions SET pos_commit=$2, pos_prepare=$3
		WHERE id = $1 AND generation = $4 AND (pos_commit, pos_prepare) < ($2, $3)`,
		s.ID, int64(pos.Commit), int64(pos.Prepare), s.Generation)
	if err != nil {
		return fmt.Errorf("deliveries: advance %s to %s: %w", s.ID, pos, err)
	}
	return nil
}

func (r repo) failed(ctx context.Context, s Subscription, attempts int, msg string) error {
	tag, err := r.pool.Exec(ctx, `UPDATE deliveries.subscriptions SET attempts=$2, last_error=$3
		WHERE id = $1 AND generation = $4`, s.ID, attempts, msg, s.Generation)
	return updated(tag.RowsAffected(), err, "record failure of %s", s.ID)
}

// deadLetter records the event as given up and advances past it, atomically.
func (r repo) deadLetter(ctx context.Context, s Subscription, ev eventstore.RecordedEvent, attempts int, msg string) error {
	id := s.ID
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deliveries.subscriptions SET pos_commit=$2, pos_prepare=$3,
			attempts = 0, last_error = $4 WHERE id = $1 AND generation = $5`,
			id, int64(ev.Position.Commit), int64(ev.Position.Prepare), msg, s.Generation)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errRewound
		}
		_, err = tx.Exec(ctx, `INSERT INTO deliveries.dead_letters
			(subscription_id, event_id, pos_commit, pos_prepare, type, stream, attempts, last_error)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8)
			ON CONFLICT (subscription_id, event_id) DO UPDATE SET attempts = EXCLUDED.attempts,
				last_error = EXCLUDED.last_error, at = now()`,
			id, ev.ID, int64(ev.Position.Commit), int64(ev.Position.Prepare), ev.Type, ev.Stream, attempts, msg)
		return err
	})
	if errors.Is(err, errRewound) {
		return err
	}
	if err != nil {
		return fmt.Errorf("deliveries: dead-letter %s for %s: %w", ev.ID, id, err)
	}
	return nil
}

func (r repo) deadLetters(ctx context.Context, id uuid.UUID) ([]DeadLetter, error) {
	rows, err := r.pool.Query(ctx, `SELECT event_id, pos_commit, pos_prepare, type, stream, attempts, last_error, at
		FROM deliveries.dead_letters WHERE subscription_id = $1 ORDER BY pos_commit, pos_prepare`, id)
	if err != nil {
		return nil, fmt.Errorf("deliveries: dead letters of %s: %w", id, err)
	}
	defer rows.Close()
	out := []DeadLetter{}
	for rows.Next() {
		var d DeadLetter
		var c, p int64
		if err := rows.Scan(&d.EventID, &c, &p, &d.Type, &d.Stream, &d.Attempts, &d.LastError, &d.At); err != nil {
			return nil, fmt.Errorf("deliveries: dead letters of %s: %w", id, err)
		}
		d.Position = eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}
		out = append(out, d)
	}
	return out, rows.Err()
}

// rewind moves the checkpoint back (or forward) to from: the next event
// delivered is the first matching one after it.
func (r repo) rewind(ctx context.Context, id uuid.UUID, from eventstore.Position) error {
	_, err := r.pool.Exec(ctx, `UPDATE deliveries.subscriptions SET pos_commit=$2, pos_prepare=$3, attempts=0,
		generation = generation + 1 WHERE id = $1`, id, int64(from.Commit), int64(from.Prepare))
	if err != nil {
		return fmt.Errorf("deliveries: redeliver %s from %s: %w", id, from, err)
	}
	return nil
}

func (r repo) checkpoint(ctx context.Context, name string) (eventstore.Position, error) {
	var c, p int64
	err := r.pool.QueryRow(ctx, `SELECT pos_commit, pos_prepare FROM deliveries.checkpoint WHERE name = $1`, name).Scan(&c, &p)
	if errors.Is(err, pgx.ErrNoRows) {
		return eventstore.Start, nil
	}
	if err != nil {
		return eventstore.Start, fmt.Errorf("deliveries: read checkpoint: %w", err)
	}
	return eventstore.Position{Commit: uint64(c), Prepare: uint64(p)}, nil
}

func (r repo) setCheckpoint(ctx context.Context, name string, pos eventstore.Position) error {
	_, err := r.pool.Exec(ctx, `INSERT INTO deliveries.checkpoint (name, pos_commit, pos_prepare) VALUES ($1,$2,$3)
		ON CONFLICT (name) DO UPDATE SET pos_commit = EXCLUDED.pos_commit, pos_prepare = EXCLUDED.pos_prepare`,
		name, int64(pos.Commit), int64(pos.Prepare))
	if err != nil {
		return fmt.Errorf("deliveries: store checkpoint %s: %w", pos, err)
	}
	return nil
}
