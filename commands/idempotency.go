package commands

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Idempotency remembers, per client and Idempotency-Key, the hash of the
// request and the response it got, so that a retried request gets the
// first response and appends nothing new.
//
// A key is claimed (row without response) before the command runs and
// completed after; a claim older than staleClaim is taken over, because its
// request died. Even then nothing is appended twice: the command id derives
// from the key, and the repository recognises the command's events.
type Idempotency struct {
	db         DB
	staleClaim time.Duration
}

// NewIdempotency returns the key store on db; a claim without response
// older than staleClaim may be taken over by a retry.
func NewIdempotency(db DB, staleClaim time.Duration) *Idempotency {
	return &Idempotency{db: db, staleClaim: staleClaim}
}

// DB is what the package needs of PostgreSQL (*pgxpool.Pool qualifies).
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

const idempotencySchema = `
SELECT pg_advisory_xact_lock(7308012217002);
CREATE TABLE IF NOT EXISTS command_idempotency (
	client       text        NOT NULL,
	key          text        NOT NULL,
	request_hash bytea       NOT NULL,
	status       int,
	etag         text        NOT NULL DEFAULT '',
	response     bytea,
	claimed_at   timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (client, key)
);`

// Migrate creates the idempotency table if it is missing.
func Migrate(ctx context.Context, db DB) error {
	if _, err := db.Exec(ctx, idempotencySchema); err != nil {
		return fmt.Errorf("migrate command_idempotency: %w", err)
	}
	return nil
}

// StoredResponse is a response kept for replay.
type StoredResponse struct {
	Status int
	ETag   string
	Body   []byte
}

var (
	// ErrKeyReused: the key was used before with a different request.
	ErrKeyReused = errors.New("idempotency key reused with a different request")
	// ErrKeyInFlight: the first request with this key is still running.
	ErrKeyInFlight = errors.New("a request with this idempotency key is in progress")
)

// Claim reserves (client, key) for a request with hash. It returns the
// stored response when the key was completed for the same request, nil and
// no error when the caller now owns the key, ErrKeyReused or ErrKeyInFlight.
func (s *Idempotency) Claim(ctx context.Context, client, key string, hash []byte) (*StoredResponse, error) {
	tag, err := s.db.Exec(ctx, `INSERT INTO command_idempotency (client, key, request_hash)
		VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, client, key, hash)
	if err != nil {
		return nil, fmt.Errorf("claim idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil, nil
	}
	var (
		storedHash []byte
		status     *int
		etag       string
		body       []byte
		stale      bool
	)
	err = s.db.QueryRow(ctx, `SELECT request_hash, status, etag, response, claimed_at < now() - $3::interval
		FROM command_idempotency WHERE client = $1 AND key = $2`, client, key, s.staleClaim).
		Scan(&storedHash, &status, &etag, &body, &stale)
	if errors.Is(err, pgx.ErrNoRows) {
		// Released between our insert and select: try once more.
		return s.Claim(ctx, client, key, hash)
	}
	if err != nil {
		return nil, fmt.Errorf("read idempotency key: %w", err)
	}
	switch {
	case string(storedHash) != string(hash):
		return nil, ErrKeyReused
	case status != nil:
		return &StoredResponse{Status: *status, ETag: etag, Body: body}, nil
	case !stale:
		return nil, ErrKeyInFlight
	}
	tag, err = s.db.Exec(ctx, `UPDATE command_idempotency SET claimed_at = now()
		WHERE client = $1 AND key = $2 AND status IS NULL AND claimed_at < now() - $3::interval`,
		client, key, s.staleClaim)
	if err != nil {
		return nil, fmt.Errorf("take over idempotency key: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return nil, ErrKeyInFlight
	}
	return nil, nil
}

// Complete stores the response of a claimed key.
func (s *Idempotency) Complete(ctx context.Context, client, key string, r StoredResponse) error {
	_, err := s.db.Exec(ctx, `UPDATE command_idempotency SET status = $3, etag = $4, response = $5
		WHERE client = $1 AND key = $2`, client, key, r.Status, r.ETag, r.Body)
	if err != nil {
		return fmt.Errorf("complete idempotency key: %w", err)
	}
	return nil
}

// Release forgets a claimed key whose request failed without a definite
// answer (5xx), so that a retry runs the command again.
func (s *Idempotency) Release(ctx context.Context, client, key string) error {
	_, err := s.db.Exec(ctx, `DELETE FROM command_idempotency
		WHERE client = $1 AND key = $2 AND status IS NULL`, client, key)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}
