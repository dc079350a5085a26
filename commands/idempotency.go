package commands

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

// Idempotency remembers, per client and Idempotency-Key, the hash of the
// request and the response it got, so that a retried request gets the
// first response and appends nothing new.
//
// A key is claimed (row without response) before the command runs and
// completed after. A retry that finds a claim without response asks whether
// the request that made it can still finish: each Idempotency holds a
// PostgreSQL advisory lock for as long as its process lives (see
// owner_lock.go), and a claim names the lock of its process. When the
// process dies its connection closes and PostgreSQL drops the lock at once,
// so a retry sees the claim orphaned and takes it over immediately, instead
// of answering idempotency_key_in_flight. A claim whose process lives is
// taken over only when older than staleClaim (a request stuck in a live
// process, or a claim made while the process had lost its lock).
//
// Taking over runs the command again, and that is safe: the command id
// derives from the key, so a command whose events the dead request appended
// is recognised by the repository and answered from those events, and one
// whose events never made it is decided afresh and appended once (event ids
// derive from the command id too). Even a takeover of a request that is in
// fact still running (its lock connection dropped) appends nothing twice.
//
// Folded into the append (InAppends: the event store is PostgreSQL in this
// table's database), a command whose run is one load–decide–append of one
// stream (holderRoute, cardRoute) claims nothing first. Its run carries
// the key's row (Row: request hash, the route's success status, no
// response) in the envelope, and the append writes it in its own
// statement (eventstore.RowAppender): a success costs one read and one
// append, no claim and no Complete. A completed row without response
// means "answer by running the command again": its events were committed
// with it, so a retry's run finds them (Pipeline.Run, Replayed) and
// answers from them, marked as a replay, byte for byte the first answer.
// When the row was not written with events, the answer is settled after
// the fact:
//   - a refusal (4xx), a success without events or one found applied
//     already is stored with Record, one INSERT that keeps a row the key
//     has already (commits as Complete's: durable for refusals only);
//   - a key that has a row already, or may have (Record stored nothing or
//     failed, or the append failed with eventstore.ErrRowConflict, which
//     rolled the events back:
//     that request's success is never answered) is answered by Claim:
//     its stored answer, ErrKeyReused (another request under the key,
//     whose events were not appended), ErrKeyInFlight (a claim of the
//     protocol above), or a row to answer by running again;
//   - a 5xx stores nothing, as above.
//
// Two requests of one key that run together append once: the second
// append finds the first's events (the store's idempotent retry) and
// writes no row, and both answer the first's events.
type Idempotency struct {
	db         DB
	staleClaim time.Duration
	owner      *ownerLock
	// inAppends: the key's row may ride on the command's append.
	inAppends bool
}

// InAppends lets the keys of commands that append to one stream be
// recorded by their append (see Idempotency). Call it only when the event
// store the commands append to is an eventstore.RowAppender in this
// table's database (PostgreSQL). A store that cannot write the row appends
// nothing for such a run (eventstore.ErrRowAppendUnsupported), and the
// request claims its key first as any other: events are never written
// before their key is known to be this request's.
func (s *Idempotency) InAppends() { s.inAppends = true }

// Row is the record of a request run without a claim, written with its
// command's events: completed with status and no response (answer by
// running again).
func (s *Idempotency) Row(client, key string, hash []byte, status int) eventstore.Row {
	return eventstore.Row{Table: "command_idempotency", Columns: []string{"client", "key", "request_hash", "status"},
		Values: []any{client, key, hash, status}}
}

// Record stores r as the answer of a request run without a claim, unless
// the key has a row already (then it reports false and Claim says what
// the key holds). A success commits without waiting for the flush, a
// refusal durably, as Complete does.
func (s *Idempotency) Record(ctx context.Context, client, key string, hash []byte, r StoredResponse) (bool, error) {
	insert := `INSERT INTO command_idempotency (client, key, request_hash, status, etag, response)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`
	if r.Status < 400 {
		insert = withoutFlushWait + `INSERT INTO command_idempotency (client, key, request_hash, status, etag, response)
		SELECT $1, $2, $3, $4, $5, $6 FROM no_flush_wait ON CONFLICT DO NOTHING`
	}
	tag, err := s.db.Exec(ctx, insert, client, key, hash, r.Status, r.ETag, r.Body)
	if err != nil {
		return false, fmt.Errorf("record idempotent response: %w", err)
	}
	return tag.RowsAffected() == 1, nil
}

// NewIdempotency returns the key store on pool; a claim without response
// whose process lives may be taken over by a retry after staleClaim. It
// holds one connection of its own (outside the pool) from the first Claim
// until Close.
func NewIdempotency(pool *pgxpool.Pool, staleClaim time.Duration) *Idempotency {
	return &Idempotency{db: pool, staleClaim: staleClaim, owner: newOwnerLock(pool.Config().ConnConfig)}
}

// Close releases the process's lock: claims still open look orphaned.
func (s *Idempotency) Close() { s.owner.close() }

// DB is what the package needs of PostgreSQL (*pgxpool.Pool qualifies).
type DB interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// owner is the lock of the process that made the claim (NULL: unknown, only
// staleness frees the claim); token tells one claim of a key from the claim
// that took it over.
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
);
ALTER TABLE command_idempotency ADD COLUMN IF NOT EXISTS owner int;
ALTER TABLE command_idempotency ADD COLUMN IF NOT EXISTS token uuid;
CREATE INDEX IF NOT EXISTS command_idempotency_claimed_at ON command_idempotency (claimed_at);`

// withoutFlushWait prefixes a statement that must name no_flush_wait in
// its FROM (or USING): its implicit transaction then commits without
// waiting for the WAL to reach the disk (synchronous_commit off for that
// transaction only; PostgreSQL reads the setting at commit).
//
// Why that is safe for these records: the append is the one commit of a
// command that must be durable before the client gets an answer, and it
// still is. A record lost to a database crash (the last few hundred
// milliseconds of such commits, never a process kill, which loses
// nothing) is either a claim, whose loss lets a retry run the command
// again, which appends nothing twice because the command id derives from
// the key (see Idempotency), or the stored answer of a success, which the
// retry then gets again from the command's events, marked as a replay. A
// stored refusal (4xx) has no events to be rebuilt from, so Complete
// keeps that commit durable. On a database with synchronous_commit off
// already (the development cluster) nothing changes. This took two of the
// three WAL flushes a command waited for (README, Performance).
const withoutFlushWait = `WITH no_flush_wait AS (SELECT set_config('synchronous_commit', 'off', true)) `

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
	// Rerun: no body is stored; the answer is the command's, rebuilt by
	// running it again (a row written with the command's events, Row).
	Rerun bool
}

var (
	// ErrKeyReused: the key was used before with a different request.
	ErrKeyReused = errors.New("idempotency key reused with a different request")
	// ErrKeyInFlight: the first request with this key is still running.
	ErrKeyInFlight = errors.New("a request with this idempotency key is in progress")
)

// Claim is the right to run the command of one key; Complete or Release
// ends it.
type Claim struct {
	s           *Idempotency
	client, key string
	token       uuid.UUID
}

// maxClaimRounds bounds Claim's re-reads when the row changes under it
// (released, completed or taken over between two statements).
const maxClaimRounds = 4

// Claim reserves (client, key) for a request with hash. It returns the
// claim when the caller now owns the key, the stored response when the key
// was completed for the same request, or ErrKeyReused or ErrKeyInFlight.
// A stored hash equal to one of also (the request's hash under an earlier
// key, or unkeyed as rows from before keyed hashes hold) is the same
// request too; new rows store hash.
func (s *Idempotency) Claim(ctx context.Context, client, key string, hash []byte, also ...[]byte) (*Claim, *StoredResponse, error) {
	owner := s.owner.current(ctx)
	c := &Claim{s: s, client: client, key: key, token: uuid.New()}
	for range maxClaimRounds {
		tag, err := s.db.Exec(ctx, withoutFlushWait+`INSERT INTO command_idempotency (client, key, request_hash, owner, token)
			SELECT $1, $2, $3, nullif($4, 0), $5 FROM no_flush_wait ON CONFLICT DO NOTHING`, client, key, hash, owner, c.token)
		if err != nil {
			return nil, nil, fmt.Errorf("claim idempotency key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return c, nil, nil
		}
		var (
			storedHash []byte
			status     *int
			etag       string
			body       []byte
			noBody     bool
			token      *uuid.UUID
			stale      bool
			orphaned   bool
		)
		// The owner's lock is free exactly when its process is gone; trying
		// it in the statement's own transaction frees it again at once.
		err = s.db.QueryRow(ctx, `SELECT request_hash, status, etag, response, response IS NULL, token,
				claimed_at < now() - $3::interval,
				CASE WHEN status IS NULL AND owner IS NOT NULL
					THEN pg_try_advisory_xact_lock($4, owner) ELSE false END
			FROM command_idempotency WHERE client = $1 AND key = $2`, client, key, s.staleClaim, ownerLockClass).
			Scan(&storedHash, &status, &etag, &body, &noBody, &token, &stale, &orphaned)
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released between our insert and select
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read idempotency key: %w", err)
		}
		switch {
		case !sameRequest(storedHash, hash, also):
			return nil, nil, ErrKeyReused
		case status != nil:
			return nil, &StoredResponse{Status: *status, ETag: etag, Body: body, Rerun: noBody}, nil
		case !stale && !orphaned:
			return nil, nil, ErrKeyInFlight
		}
		// Take over the claim we saw, unless another retry got there first.
		tag, err = s.db.Exec(ctx, withoutFlushWait+`UPDATE command_idempotency
			SET owner = nullif($3, 0), token = $4, claimed_at = now() FROM no_flush_wait
			WHERE client = $1 AND key = $2 AND status IS NULL AND token IS NOT DISTINCT FROM $5`,
			client, key, owner, c.token, token)
		if err != nil {
			return nil, nil, fmt.Errorf("take over idempotency key: %w", err)
		}
		if tag.RowsAffected() == 1 {
			return c, nil, nil
		}
	}
	return nil, nil, ErrKeyInFlight
}

// Complete stores the response of the claim and returns the response to
// send: r, or the one stored first when another request took the key over
// and finished before (both ran the same command, so they agree on what
// happened; the client gets one answer however often it asks).
func (c *Claim) Complete(ctx context.Context, r StoredResponse) (StoredResponse, error) {
	// A success is answered again from the command's events if its record
	// is lost (see withoutFlushWait); a refusal is only in the record.
	update := `UPDATE command_idempotency SET status = $3, etag = $4, response = $5
		WHERE client = $1 AND key = $2 AND token = $6 AND status IS NULL`
	if r.Status < 400 {
		update = withoutFlushWait + `UPDATE command_idempotency SET status = $3, etag = $4, response = $5
		FROM no_flush_wait WHERE client = $1 AND key = $2 AND token = $6 AND status IS NULL`
	}
	tag, err := c.s.db.Exec(ctx, update, c.client, c.key, r.Status, r.ETag, r.Body, c.token)
	if err != nil {
		return r, fmt.Errorf("complete idempotency key: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return r, nil
	}
	var (
		status *int
		stored StoredResponse
	)
	err = c.s.db.QueryRow(ctx, `SELECT status, etag, response FROM command_idempotency
		WHERE client = $1 AND key = $2`, c.client, c.key).Scan(&status, &stored.ETag, &stored.Body)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && (status == nil || stored.Body == nil)) {
		// Taken over and still running, released, or recorded with the
		// command's events (no body: the same command's answer): ours stands.
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("complete idempotency key: %w", err)
	}
	stored.Status = *status
	return stored, nil
}

// Release forgets a claim whose request failed without a definite answer
// (5xx), so that a retry runs the command again. A claim taken over since
// is left alone.
func (c *Claim) Release(ctx context.Context) error {
	_, err := c.s.db.Exec(ctx, withoutFlushWait+`DELETE FROM command_idempotency USING no_flush_wait
		WHERE client = $1 AND key = $2 AND token = $3 AND status IS NULL`, c.client, c.key, c.token)
	if err != nil {
		return fmt.Errorf("release idempotency key: %w", err)
	}
	return nil
}

func sameRequest(stored, hash []byte, also [][]byte) bool {
	if string(stored) == string(hash) {
		return true
	}
	for _, h := range also {
		if string(stored) == string(h) {
			return true
		}
	}
	return false
}

// DeleteExpiredIdempotency deletes the idempotency records claimed more
// than retention ago, batch rows per statement (so no statement holds many
// row locks or a long transaction), and returns how many it deleted. A
// retry of such a request is a new command (see the README's
// Idempotency-Key contract); deleting also ends the life of the request
// hashes and stored responses, which can concern a person.
func DeleteExpiredIdempotency(ctx context.Context, db DB, retention time.Duration, batch int) (int64, error) {
	var total int64
	for {
		tag, err := db.Exec(ctx, `DELETE FROM command_idempotency WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM command_idempotency WHERE claimed_at < now() - $1::interval LIMIT $2))`, retention, batch)
		if err != nil {
			return total, fmt.Errorf("delete expired idempotency keys: %w", err)
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < int64(batch) {
			return total, nil
		}
	}
}
