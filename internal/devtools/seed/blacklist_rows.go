package seed

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/projections/readmodel"
)

// BlacklistRows writes n listed cards (L00000000, L00000001, ...) and
// their n "add" changes straight into the live read model, after whatever
// is there, and moves the checkpoint's last seq on. It is for lookup and
// feed benchmarks with a million listed cards, which would otherwise need
// some nine million events; a rebuild drops these rows again.
func BlacklistRows(ctx context.Context, pool *pgxpool.Pool, n int) error {
	const schema = readmodel.Schema
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Locking the checkpoint row serialises this with the projection's
		// writers, which hand out blacklist seqs under the same lock.
		var last int64
		if err := tx.QueryRow(ctx, "SELECT last_seq FROM "+schema+".checkpoint FOR UPDATE").Scan(&last); err != nil {
			return fmt.Errorf("seed blacklist: read checkpoint: %w", err)
		}
		at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		card := func(i int) string { return fmt.Sprintf("L%08d", i) }
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{schema, "blacklist"}, []string{"card_no", "reason", "since", "seq"},
			pgx.CopyFromSlice(n, func(i int) ([]any, error) {
				return []any{card(i), "lost", at.Add(time.Duration(i) * time.Second), last + int64(i) + 1}, nil
			})); err != nil {
			return fmt.Errorf("seed blacklist: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{schema, "blacklist_changes"},
			[]string{"seq", "card_no", "op", "reason", "at", "pos_commit", "pos_prepare"},
			pgx.CopyFromSlice(n, func(i int) ([]any, error) {
				return []any{last + int64(i) + 1, card(i), "add", "lost", at.Add(time.Duration(i) * time.Second), int64(0), int64(0)}, nil
			})); err != nil {
			return fmt.Errorf("seed blacklist changes: %w", err)
		}
		_, err := tx.Exec(ctx, "UPDATE "+schema+".checkpoint SET last_seq = $1", last+int64(n))
		return err
	})
}
