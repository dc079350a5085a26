package payments

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

// ReadModelName names the payments read model among projections.
const ReadModelName = "payments"

// ReadModelSchema is the live schema of the payments read model.
const ReadModelSchema = "payments"

// readModelDDL: merchants, orders and refunds as the merchant and order
// streams say, one row per merchant, order and refund. Amounts are fen
// (bigint). Every *_day column is the Beijing-time (UTC+8) civil date of
// the instant beside it: the day a merchant's reconciliation file counts
// the order or refund in. Every column derives from events only, so a
// rebuild reproduces the table.
const readModelDDL = `
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.checkpoint (
	one         boolean PRIMARY KEY DEFAULT true CHECK (one),
	pos_commit  bigint NOT NULL,
	pos_prepare bigint NOT NULL
);
INSERT INTO {s}.checkpoint (pos_commit, pos_prepare) VALUES (0, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS {s}.merchants (
	merchant_id      text PRIMARY KEY,
	account_id       text NOT NULL,
	name             text NOT NULL,
	credit_code      text NOT NULL,
	mcc              text NOT NULL,
	settlement_bank  text NOT NULL,
	settlement_no    text NOT NULL,
	settlement_name  text NOT NULL,
	status           text NOT NULL,
	apps             text[] NOT NULL,
	decided_by       text NOT NULL DEFAULT '',
	note             text NOT NULL DEFAULT '',
	created_at       timestamptz NOT NULL,
	revision         int NOT NULL
);
CREATE TABLE IF NOT EXISTS {s}.orders (
	order_id          text PRIMARY KEY,
	merchant_id       text NOT NULL,
	merchant_order_no text NOT NULL,
	app_id            text NOT NULL,
	amount_fen        bigint NOT NULL CHECK (amount_fen > 0),
	description       text NOT NULL,
	notify_url        text NOT NULL,
	status            text NOT NULL,
	method            text NOT NULL DEFAULT '',
	channel           text NOT NULL DEFAULT '',
	cardholder_id     text NOT NULL DEFAULT '',
	bank_code         text NOT NULL DEFAULT '',
	bank_txn_id       text NOT NULL DEFAULT '',
	paid_fen          bigint NOT NULL DEFAULT 0,
	refunded_fen      bigint NOT NULL DEFAULT 0 CHECK (refunded_fen <= paid_fen),
	reason            text NOT NULL DEFAULT '',
	created_at        timestamptz NOT NULL,
	created_day       date NOT NULL,
	paid_at           timestamptz,
	paid_day          date,
	ended_at          timestamptz,
	last_refund_at    timestamptz,
	revision          int NOT NULL,
	UNIQUE (merchant_id, merchant_order_no)
);
CREATE TABLE IF NOT EXISTS {s}.refunds (
	order_id          text NOT NULL,
	refund_no         text NOT NULL,
	merchant_id       text NOT NULL,
	merchant_order_no text NOT NULL,
	amount_fen        bigint NOT NULL CHECK (amount_fen > 0),
	bank_code         text NOT NULL,
	bank_refund_id    text NOT NULL,
	refunded_at       timestamptz NOT NULL,
	refund_day        date NOT NULL,
	PRIMARY KEY (order_id, refund_no)
);
`

// readModelIndexes are the lookups of the API and of reconciliation (a
// merchant's orders paid, and refunds made, on one Beijing day).
const readModelIndexes = `
CREATE INDEX IF NOT EXISTS orders_merchant_created ON {s}.orders (merchant_id, created_at DESC);
CREATE INDEX IF NOT EXISTS orders_merchant_paid_day ON {s}.orders (merchant_id, paid_day) WHERE paid_day IS NOT NULL;
CREATE INDEX IF NOT EXISTS refunds_merchant_day ON {s}.refunds (merchant_id, refund_day);
CREATE INDEX IF NOT EXISTS merchants_account ON {s}.merchants (account_id);
`

func ddl(schema string) string { return strings.ReplaceAll(readModelDDL, "{s}", schema) }
func indexes(schema string) string {
	return strings.ReplaceAll(readModelIndexes, "{s}", schema)
}

// migrateLockKey serialises concurrent migrations ("clpay").
const migrateLockKey = 0x63_6c_70_61_79

// ReadModel is the payments projection (schema payments): merchants, orders
// and refunds. The projections runner hosts it (checkpoint, lock, rebuild).
//
// Invariant: rows and checkpoint are written in one transaction that first
// locks the checkpoint and skips events at or before it, so a repeated or
// concurrent Apply changes nothing twice.
type ReadModel struct {
	pool   *pgxpool.Pool
	schema string
	bulk   bool
}

var _ projections.SchemaProjection = (*ReadModel)(nil)

// NewReadModel returns the read model over pool. Call Migrate before use.
func NewReadModel(pool *pgxpool.Pool) *ReadModel {
	return &ReadModel{pool: pool, schema: ReadModelSchema}
}

// Storage implements projections.SchemaProjection.
func (m *ReadModel) Storage() projections.SchemaStorage {
	return projections.SchemaStorage{Pool: m.pool, Schema: m.schema, DDL: ddl, Indexes: indexes}
}

// In implements projections.SchemaProjection.
func (m *ReadModel) In(schema string, shadow bool) projections.SchemaProjection {
	return &ReadModel{pool: m.pool, schema: schema, bulk: shadow}
}

// Migrate creates the schema if it is missing; idempotent.
func (m *ReadModel) Migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, ddl(m.schema)+indexes(m.schema))
		return err
	})
	if err != nil {
		return fmt.Errorf("payments read model: migrate: %w", err)
	}
	return nil
}

// Name implements projections.Projection.
func (m *ReadModel) Name() string { return ReadModelName }

// Checkpoint implements projections.Projection.
func (m *ReadModel) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	return projections.SchemaCheckpoint(ctx, m.pool, m.schema)
}

var _ projections.Selective = (*ReadModel)(nil)

// Uses implements projections.Selective: merchant and payment-order streams.
func (m *ReadModel) Uses(ev eventstore.RecordedEvent) bool {
	return strings.HasPrefix(ev.Stream, domain.MerchantStreamPrefix) || strings.HasPrefix(ev.Stream, domain.PaymentOrderStreamPrefix)
}

// Advance implements projections.Selective.
func (m *ReadModel) Advance(ctx context.Context, to eventstore.Position) error {
	if _, err := m.pool.Exec(ctx, projections.AdvanceSQL(m.schema+".checkpoint"), int64(to.Commit), int64(to.Prepare)); err != nil {
		return fmt.Errorf("payments read model: advance checkpoint to %s: %w", to, err)
	}
	return nil
}

// Apply implements projections.Projection.
func (m *ReadModel) Apply(ctx context.Context, page []eventstore.RecordedEvent) error {
	return pgx.BeginTxFunc(ctx, m.pool, projections.ApplyTx, func(tx pgx.Tx) error { return m.ApplyTx(ctx, tx, page) })
}

// ApplyTx implements projections.SchemaProjection.
func (m *ReadModel) ApplyTx(ctx context.Context, tx pgx.Tx, page []eventstore.RecordedEvent) error {
	cp, err := projections.LockSchemaCheckpoint(ctx, tx, m.schema)
	if err != nil {
		return fmt.Errorf("payments read model: %w", err)
	}
	b := &pgx.Batch{}
	var last eventstore.Position
	for _, ev := range page {
		if !cp.Less(ev.Position) {
			continue
		}
		last = ev.Position
		if !strings.HasPrefix(ev.Stream, domain.MerchantStreamPrefix) && !strings.HasPrefix(ev.Stream, domain.PaymentOrderStreamPrefix) {
			continue
		}
		e, err := domain.DecodeStoredPaymentEvent(ev.Type, ev.Data, ev.Metadata)
		if errors.Is(err, domain.ErrUnknownEventType) {
			continue
		}
		if err != nil {
			return fmt.Errorf("payments read model: event %s in %s: %w", ev.ID, ev.Stream, err)
		}
		m.queue(b, e, int(ev.Revision)+1)
	}
	if last == (eventstore.Position{}) {
		return nil
	}
	if m.bulk {
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return err
		}
	}
	b.Queue("UPDATE "+m.schema+".checkpoint SET pos_commit = $1, pos_prepare = $2", int64(last.Commit), int64(last.Prepare))
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("payments read model: write: %w", err)
	}
	return nil
}

// BeijingDay is the Beijing-time civil date of t, the day reconciliation
// counts t in.
func BeijingDay(t time.Time) time.Time {
	y, mo, d := t.In(domain.ChinaTime()).Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// queue adds the statements of one event; revision is the stream's after it.
func (m *ReadModel) queue(b *pgx.Batch, e domain.Event, revision int) {
	s := m.schema
	switch e := e.(type) {
	case domain.MerchantRegistered:
		b.Queue(`INSERT INTO `+s+`.merchants (merchant_id, account_id, name, credit_code, mcc, settlement_bank,
			settlement_no, settlement_name, status, apps, created_at, revision) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)
			ON CONFLICT (merchant_id) DO NOTHING`,
			e.MerchantID, e.AccountID, e.Name, e.CreditCode, e.MCC, e.Settlement.BankCode, e.Settlement.AccountNo,
			e.Settlement.Name, string(domain.MerchantStatusPending), []string{e.AppID}, e.At, revision)
	case domain.MerchantApproved:
		b.Queue(`UPDATE `+s+`.merchants SET status = $2, decided_by = $3, note = $4, revision = $5 WHERE merchant_id = $1`,
			e.MerchantID, string(domain.MerchantStatusApproved), e.By, e.Note, revision)
	case domain.MerchantRejected:
		b.Queue(`UPDATE `+s+`.merchants SET status = $2, decided_by = $3, note = $4, revision = $5 WHERE merchant_id = $1`,
			e.MerchantID, string(domain.MerchantStatusRejected), e.By, e.Reason, revision)
	case domain.MerchantAppBound:
		b.Queue(`UPDATE `+s+`.merchants SET apps = array_append(apps, $2), revision = $3 WHERE merchant_id = $1`,
			e.MerchantID, e.AppID, revision)
	case domain.MerchantAppUnbound:
		b.Queue(`UPDATE `+s+`.merchants SET apps = array_remove(apps, $2), revision = $3 WHERE merchant_id = $1`,
			e.MerchantID, e.AppID, revision)
	case domain.PaymentOrderCreated:
		b.Queue(`INSERT INTO `+s+`.orders (order_id, merchant_id, merchant_order_no, app_id, amount_fen, description,
			notify_url, status, created_at, created_day, revision) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
			ON CONFLICT (order_id) DO NOTHING`,
			e.OrderID, e.MerchantID, e.MerchantOrderNo, e.AppID, e.AmountFen, e.Description, e.NotifyURL,
			string(domain.OrderCreated), e.At, BeijingDay(e.At), revision)
	case domain.PaymentOrderPaid:
		b.Queue(`UPDATE `+s+`.orders SET status = $2, method = $3, channel = $4, cardholder_id = $5, bank_code = $6,
			bank_txn_id = $7, paid_fen = $8, paid_at = $9, paid_day = $10, revision = $11 WHERE order_id = $1`,
			e.OrderID, string(domain.OrderPaid), e.Method, e.Channel, e.CardholderID, e.BankCode, e.BankTxnID,
			e.AmountFen, e.At, BeijingDay(e.At), revision)
	case domain.PaymentOrderFailed:
		b.Queue(`UPDATE `+s+`.orders SET status = $2, cardholder_id = $3, bank_code = $4, reason = $5, ended_at = $6,
			revision = $7 WHERE order_id = $1`,
			e.OrderID, string(domain.OrderFailed), e.CardholderID, e.BankCode, e.Reason, e.At, revision)
	case domain.PaymentOrderClosed:
		b.Queue(`UPDATE `+s+`.orders SET status = $2, reason = $3, ended_at = $4, revision = $5 WHERE order_id = $1`,
			e.OrderID, string(domain.OrderClosed), e.Reason, e.At, revision)
	case domain.PaymentOrderRefunded:
		status := domain.OrderPartiallyRefunded
		if e.RefundedFen == e.PaidFen {
			status = domain.OrderRefunded
		}
		b.Queue(`INSERT INTO `+s+`.refunds (order_id, refund_no, merchant_id, merchant_order_no, amount_fen, bank_code,
			bank_refund_id, refunded_at, refund_day) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING`,
			e.OrderID, e.RefundNo, e.MerchantID, e.MerchantOrderNo, e.AmountFen, e.BankCode, e.BankRefundID, e.At, BeijingDay(e.At))
		b.Queue(`UPDATE `+s+`.orders SET status = $2, refunded_fen = $3, last_refund_at = $4, revision = $5 WHERE order_id = $1`,
			e.OrderID, string(status), e.RefundedFen, e.At, revision)
	}
}
