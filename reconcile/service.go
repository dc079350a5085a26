package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Service makes daily files and reconciles settlement files.
type Service struct {
	orders Orders
	db     *pgxpool.Pool
	clock  func() time.Time
}

// NewService needs the payments' port, the database holding the
// settlements (migrated here) and a clock.
func NewService(ctx context.Context, orders Orders, db *pgxpool.Pool, clock func() time.Time) (*Service, error) {
	if orders == nil || db == nil || clock == nil {
		return nil, errors.New("reconcile: the service needs the orders port, a database and a clock")
	}
	if err := Migrate(ctx, db); err != nil {
		return nil, err
	}
	return &Service{orders: orders, db: db, clock: clock}, nil
}

// ErrDifferentFile: another settlement file was imported for that day.
var ErrDifferentFile = errors.New("another settlement file was imported for this day")

// ErrNoReport: no settlement file was imported for that day.
var ErrNoReport = errNoReport

// Statement is a merchant's day: its daily file and totals.
type Statement struct {
	MerchantID string `json:"merchant_id"`
	Date       string `json:"date"`
	Totals     Totals `json:"totals"`
	SHA256     string `json:"sha256"` // of the daily file
	File       []byte `json:"-"`
}

// Daily is the merchant's statement of day.
func (s *Service) Daily(ctx context.Context, merchant string, day Day) (*Statement, error) {
	txns, err := s.transactions(ctx, merchant, day)
	if err != nil {
		return nil, err
	}
	data, err := WriteDaily(merchant, day, txns)
	if err != nil {
		return nil, err
	}
	fr, err := Layout.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("daily file of %s on %s: %w", merchant, day, err)
	}
	return &Statement{MerchantID: merchant, Date: day.String(), Totals: TotalsOf(txns), SHA256: fr.SHA256, File: data}, nil
}

func (s *Service) transactions(ctx context.Context, merchant string, day Day) ([]Txn, error) {
	txns, err := s.orders.Transactions(ctx, merchant, day)
	if err != nil {
		return nil, fmt.Errorf("transactions of %s on %s: %w", merchant, day, err)
	}
	return txns, nil
}

// Import reconciles a bank settlement file of merchant: checked whole
// (*RejectedError, nothing recorded), matched against our transactions of
// its day, and recorded with its report. The same file again answers the
// stored report with replayed set; another file for a day already
// reconciled is ErrDifferentFile.
func (s *Service) Import(ctx context.Context, merchant string, data []byte, by string) (r *DayReport, replayed bool, err error) {
	st, err := ParseSettlement(data, merchant)
	if err != nil {
		return nil, false, err
	}
	if r, err := s.stored(ctx, st); r != nil || err != nil {
		return r, true, err
	}
	ours, err := s.transactions(ctx, merchant, st.Day)
	if err != nil {
		return nil, false, err
	}
	r = &DayReport{MerchantID: merchant, Date: st.Day.String(), SHA256: st.SHA256, Lines: len(st.Lines),
		ImportedAt: s.clock().UTC().Truncate(time.Microsecond), ImportedBy: by, Outcome: Match(ours, st.Lines)}
	recorded, err := putReport(ctx, s.db, r, data)
	if err != nil {
		return nil, false, err
	}
	if !recorded { // another import of the day won the race
		r, err := s.stored(ctx, st)
		return r, true, err
	}
	return r, false, nil
}

// stored is the day's report when this very file made it, nil when the
// day has none, ErrDifferentFile when another file did.
func (s *Service) stored(ctx context.Context, st *Settlement) (*DayReport, error) {
	r, err := getReport(ctx, s.db, st.Merchant, st.Day)
	if errors.Is(err, errNoReport) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if r.SHA256 != st.SHA256 {
		return nil, fmt.Errorf("%w (%s on %s: sha256 %s)", ErrDifferentFile, st.Merchant, st.Day, r.SHA256)
	}
	return r, nil
}

// Report is the stored report of merchant's day; ErrNoReport when none.
func (s *Service) Report(ctx context.Context, merchant string, day Day) (*DayReport, error) {
	return getReport(ctx, s.db, merchant, day)
}

// Merchant finds a merchant through the port.
func (s *Service) Merchant(ctx context.Context, id string) (Merchant, error) {
	return s.orders.Merchant(ctx, id)
}
