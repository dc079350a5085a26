package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

const schema = `
SELECT pg_advisory_xact_lock(7308012217016);
-- One accepted settlement file per merchant and day, kept verbatim with the
-- report made from it when it was imported: one row, so never a file
-- without its report. Re-running the day reads the row back.
CREATE TABLE IF NOT EXISTS reconciliation_settlements (
	merchant_id     text NOT NULL,
	settlement_date date NOT NULL,
	sha256          text NOT NULL,
	file            bytea NOT NULL,
	lines           integer NOT NULL,
	imported_at     timestamptz NOT NULL,
	imported_by     text NOT NULL,
	report          jsonb NOT NULL,
	PRIMARY KEY (merchant_id, settlement_date)
);`

// Migrate creates the reconciliation table; safe to run concurrently.
func Migrate(ctx context.Context, db *pgxpool.Pool) error {
	if _, err := db.Exec(ctx, schema); err != nil {
		return fmt.Errorf("migrate reconciliation tables: %w", err)
	}
	return nil
}

var errNoReport = errors.New("no settlement imported for that day")

// getReport reads the stored report of merchant's day.
func getReport(ctx context.Context, db *pgxpool.Pool, merchant string, day Day) (*DayReport, error) {
	var raw []byte
	err := db.QueryRow(ctx, `SELECT report FROM reconciliation_settlements WHERE merchant_id = $1 AND settlement_date = $2`,
		merchant, day.String()).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoReport
	}
	if err != nil {
		return nil, fmt.Errorf("read report of %s on %s: %w", merchant, day, err)
	}
	var r DayReport
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("decode report of %s on %s: %w", merchant, day, err)
	}
	return &r, nil
}

// putReport records the file with its report unless the day has one
// already; it reports whether this call recorded it.
func putReport(ctx context.Context, db *pgxpool.Pool, r *DayReport, file []byte) (bool, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("encode report: %w", err)
	}
	tag, err := db.Exec(ctx, `INSERT INTO reconciliation_settlements
		(merchant_id, settlement_date, sha256, file, lines, imported_at, imported_by, report)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (merchant_id, settlement_date) DO NOTHING`,
		r.MerchantID, r.Date, r.SHA256, file, r.Lines, r.ImportedAt, r.ImportedBy, raw)
	if err != nil {
		return false, fmt.Errorf("record settlement of %s on %s: %w", r.MerchantID, r.Date, err)
	}
	return tag.RowsAffected() == 1, nil
}

// DayReport is the outcome of a day's reconciliation, as stored and served.
type DayReport struct {
	MerchantID string    `json:"merchant_id"`
	Date       string    `json:"date"`
	SHA256     string    `json:"sha256"` // of the bank's file
	Lines      int       `json:"lines"`
	ImportedAt time.Time `json:"imported_at"`
	ImportedBy string    `json:"imported_by"`
	Outcome
}
