package pgstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardledger/cardledger/eventstore"
)

var _ eventstore.MultiAppender = (*Store)(nil)

// AppendMany runs appendSQL once per stream, all in one transaction sent as
// one pgx batch: one round trip and one commit for many streams. Each
// statement keeps its single-stream semantics (expectation, idempotent
// retry, chain); the first stream whose expectation fails, or whose ids
// are stored elsewhere, rolls the whole transaction back.
//
// Statements run in stream-name order, so two AppendMany calls that share
// streams take the (stream, revision) index locks in the same order and
// wait for each other instead of deadlocking; a deadlock or a unique
// violation (a concurrent writer got there first) reruns the whole call on
// the new state, as Append does.
func (s *Store) AppendMany(ctx context.Context, appends []eventstore.StreamAppend) ([]eventstore.AppendResult, error) {
	if len(appends) == 0 {
		return nil, nil
	}
	seen := make(map[string]bool, len(appends))
	for _, a := range appends {
		if seen[a.Stream] {
			return nil, fmt.Errorf("append many: stream %s given twice", a.Stream)
		}
		seen[a.Stream] = true
		if len(a.Events) == 0 {
			return nil, fmt.Errorf("append %s: no events", a.Stream)
		}
		for i, e := range a.Events {
			if e.ID == uuid.Nil {
				return nil, fmt.Errorf("append %s: event %d has no id", a.Stream, i)
			}
		}
		if err := eventstore.CheckAppendSize(a.Stream, a.Events); err != nil {
			return nil, err
		}
	}
	order := make([]int, len(appends))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(appends[a].Stream, appends[b].Stream) })

	for attempt := 1; ; attempt++ {
		var results []eventstore.AppendResult
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			results, err = appendManyOnce(ctx, tx, appends, order)
			return err
		})
		if err == nil {
			s.notifier.appended()
			return results, nil
		}
		if !(isUniqueViolation(err) || isDeadlock(err)) || attempt == maxAppendAttempts {
			return nil, err
		}
	}
}

func isDeadlock(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "40P01"
}

func appendManyOnce(ctx context.Context, tx pgx.Tx, appends []eventstore.StreamAppend, order []int) ([]eventstore.AppendResult, error) {
	ids := make([][][16]byte, len(appends))
	var b pgx.Batch
	b.Queue(genericPlanSQL)
	for _, i := range order {
		a := appends[i]
		var args []any
		args, ids[i] = appendArgs(a.Stream, a.Expected, a.Events)
		b.Queue(appendSQL, args...)
	}
	rows := make([]appendRow, len(appends))
	br := tx.SendBatch(ctx, &b)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, fmt.Errorf("append many: %w", err)
	}
	for _, i := range order {
		r, err := scanAppendRow(br.QueryRow())
		if err != nil {
			br.Close()
			return nil, fmt.Errorf("append %s: %w", appends[i].Stream, err)
		}
		rows[i] = r
	}
	if err := br.Close(); err != nil {
		return nil, fmt.Errorf("append many: %w", err)
	}
	results := make([]eventstore.AppendResult, len(appends))
	for _, i := range order {
		a := appends[i]
		res, err := rows[i].outcome(ctx, tx, a.Stream, a.Expected, ids[i])
		if err != nil {
			return nil, err
		}
		results[i] = res
	}
	return results, nil
}
