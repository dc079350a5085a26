package piistore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// rotateBatch is how many data keys one rotation transaction re-wraps.
const rotateBatch = 500

// Rotate re-wraps every live data key that is not yet under to, unwrapping
// it with whichever configured master key wrapped it. It works in small
// transactions, so it can be interrupted and run again, and it runs next
// to live traffic: a key is rewritten with the same value, only its
// wrapping changes. It returns how many keys it re-wrapped.
func (k *Keyring) Rotate(ctx context.Context, to MasterKey, progress func(done int)) (int, error) {
	if to.IsZero() {
		return 0, fmt.Errorf("rotate: no new master key")
	}
	resolve := *k
	resolve.masters = map[string]MasterKey{to.id: to}
	for id, m := range k.masters {
		resolve.masters[id] = m
	}
	done := 0
	for {
		n, err := resolve.rotateBatch(ctx, to)
		done += n
		if err != nil {
			return done, fmt.Errorf("rotate to master key %s after %d keys: %w", to.id, done, err)
		}
		if progress != nil && n > 0 {
			progress(done)
		}
		if n < rotateBatch {
			return done, nil
		}
	}
}

func (k *Keyring) rotateBatch(ctx context.Context, to MasterKey) (int, error) {
	n := 0
	err := pgx.BeginFunc(ctx, k.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT subject, generation, wrapped, master_key_id FROM pii_data_keys
			WHERE master_key_id IS NOT NULL AND master_key_id <> $1
			ORDER BY subject, generation LIMIT $2 FOR UPDATE SKIP LOCKED`, to.id, rotateBatch)
		if err != nil {
			return err
		}
		type rewrap struct {
			subject string
			gen     int
			wrapped []byte
		}
		var todo []rewrap
		for rows.Next() {
			var r rewrap
			var masterID string
			if err := rows.Scan(&r.subject, &r.gen, &r.wrapped, &masterID); err != nil {
				return err
			}
			key, err := k.unwrap(r.subject, r.wrapped, masterID)
			if err != nil {
				return err
			}
			if r.wrapped, err = wrap(to, r.subject, key); err != nil {
				return err
			}
			todo = append(todo, r)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		var b pgx.Batch
		for _, r := range todo {
			b.Queue(`UPDATE pii_data_keys SET wrapped = $3, master_key_id = $4 WHERE subject = $1 AND generation = $2`,
				r.subject, r.gen, r.wrapped, to.id)
		}
		if err := tx.SendBatch(ctx, &b).Close(); err != nil {
			return err
		}
		n = len(todo)
		return nil
	})
	return n, err
}

// KeyStatus counts data keys: live ones by the master key that wraps them,
// and erased subjects.
type KeyStatus struct {
	LiveByMasterKey map[string]int `json:"live_by_master_key"`
	ErasedSubjects  int            `json:"erased_subjects"`
}

// Status tells which master keys are still needed: an old key whose count
// is zero may be removed from the configuration.
func (k *Keyring) Status(ctx context.Context) (KeyStatus, error) {
	st := KeyStatus{LiveByMasterKey: map[string]int{}}
	rows, err := k.pool.Query(ctx, `SELECT master_key_id, count(*) FROM pii_data_keys
		WHERE master_key_id IS NOT NULL GROUP BY master_key_id`)
	if err != nil {
		return st, fmt.Errorf("key status: %w", err)
	}
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return st, fmt.Errorf("key status: %w", err)
		}
		st.LiveByMasterKey[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("key status: %w", err)
	}
	if err := k.pool.QueryRow(ctx, `SELECT count(*) FROM pii_data_keys WHERE generation = 0`).Scan(&st.ErasedSubjects); err != nil {
		return st, fmt.Errorf("key status: %w", err)
	}
	return st, nil
}
