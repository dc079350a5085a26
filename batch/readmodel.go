package batch

import (
	"context"
	"encoding/json"
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

// ReadModelName names the batch read model among projections.
const ReadModelName = "batch"

// ReadModel is the batch layer's own projection (schema batchrm): every
// cardholder's state with the columns batch selection filters on, which
// batch holds each application, the batches, and the PSAM stock. The
// projections runner hosts it (checkpoint, lock, lag, rebuild); CatchUpTo
// also brings it to a position on demand, so that batch creation sees every
// import before it, which is safe next to the runner (see the invariant).
//
// It keeps personal data in clear (state, id_number), so an erasure brings
// it past the CardholderErased event before answering (the server registers
// it as a commands.ErasureFollower); an erasure a crash cut short is
// completed by the runner when it catches up.
//
// Invariant: rows and checkpoint are written in one transaction that first
// locks the checkpoint and skips events at or before it, so a repeated or
// concurrent Apply changes nothing twice.
type ReadModel struct {
	pool   *pgxpool.Pool
	schema string // ReadModelSchema, or a rebuild's shadow
	bulk   bool   // a rebuild's shadow: commits need not be durable
}

var _ projections.SchemaProjection = (*ReadModel)(nil)

// NewReadModel returns the read model over pool. Call Migrate before use.
func NewReadModel(pool *pgxpool.Pool) *ReadModel {
	return &ReadModel{pool: pool, schema: ReadModelSchema}
}

// Storage implements projections.SchemaProjection: `projections rebuild
// batch` loads a shadow of these tables from the log and swaps them in. The
// schema also holds import_jobs, which is not derived from the log and so
// is kept.
func (m *ReadModel) Storage() projections.SchemaStorage {
	return projections.SchemaStorage{Pool: m.pool, Schema: m.schema, DDL: readModelSchemaDDL,
		Tables: []string{"checkpoint", "applications", "batches", "psam"}}
}

// In implements projections.SchemaProjection.
func (m *ReadModel) In(schema string, shadow bool) projections.SchemaProjection {
	return &ReadModel{pool: m.pool, schema: schema, bulk: shadow}
}

const readModelDDL = `
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.checkpoint (
	one         boolean PRIMARY KEY DEFAULT true CHECK (one),
	pos_commit  bigint NOT NULL,
	pos_prepare bigint NOT NULL
);
INSERT INTO {s}.checkpoint (pos_commit, pos_prepare) VALUES (0, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS {s}.applications (
	cardholder_id  text PRIMARY KEY,
	state          jsonb NOT NULL,
	status         text NOT NULL,
	region_code    text NOT NULL,
	employer_code  text NOT NULL,
	community_code text NOT NULL,
	source         text NOT NULL,
	kind           text NOT NULL,
	id_number      text NOT NULL,
	batch_id       text
);
CREATE INDEX IF NOT EXISTS applications_pending ON {s}.applications (region_code, id_number)
	WHERE status IN ('applied', 'account_opened') AND batch_id IS NULL;
CREATE TABLE IF NOT EXISTS {s}.batches (
	batch_id   text PRIMARY KEY,
	created_on text NOT NULL,
	members    int NOT NULL,
	job        int NOT NULL DEFAULT 0,
	picked_up  boolean NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS {s}.psam (
	serial      text PRIMARY KEY,
	status      text NOT NULL,
	model       text NOT NULL,
	vendor      text NOT NULL,
	warehouse   text NOT NULL,
	agency      text NOT NULL,
	terminal_id text NOT NULL,
	reason      text NOT NULL
);
CREATE INDEX IF NOT EXISTS psam_agency ON {s}.psam (agency, status);
`

// ReadModelSchema is the live schema of the batch read model.
const ReadModelSchema = "batchrm"

func readModelSchemaDDL(schema string) string { return strings.ReplaceAll(readModelDDL, "{s}", schema) }

// migrateLockKey serialises concurrent migrations ("clbat").
const migrateLockKey = 0x63_6c_62_61_74

// Migrate creates the schema if it is missing; idempotent.
func (m *ReadModel) Migrate(ctx context.Context) error {
	err := pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, readModelSchemaDDL(m.schema))
		return err
	})
	if err != nil {
		return fmt.Errorf("batch read model: migrate: %w", err)
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

// Uses implements projections.Selective: batch and PSAM streams, and
// cardholder events but a temporary loss and the unlock lifting it
// (unusedByBatches), the commonest counter commands.
func (m *ReadModel) Uses(ev eventstore.RecordedEvent) bool {
	switch {
	case strings.HasPrefix(ev.Stream, domain.StreamPrefix):
		if ev.Type != (domain.CardTemporarilyLost{}).EventType() && ev.Type != (domain.CardUnlocked{}).EventType() {
			return true
		}
		e, err := domain.DecodeStoredEvent(ev.Type, ev.Data, ev.Metadata)
		return err != nil || !unusedByBatches(e)
	case strings.HasPrefix(ev.Stream, "batch-"), strings.HasPrefix(ev.Stream, "psam-"):
		return true
	}
	return false
}

// Advance implements projections.Selective.
func (m *ReadModel) Advance(ctx context.Context, to eventstore.Position) error {
	if _, err := m.pool.Exec(ctx, projections.AdvanceSQL(m.schema+".checkpoint"), int64(to.Commit), int64(to.Prepare)); err != nil {
		return fmt.Errorf("batch read model: advance checkpoint to %s: %w", to, err)
	}
	return nil
}

// catchUpPage is how many events CatchUp reads per round trip.
const catchUpPage = 5000

// CatchUp applies every event up to the store's head.
func (m *ReadModel) CatchUp(ctx context.Context, store eventstore.Store) error {
	for {
		cp, err := m.Checkpoint(ctx)
		if err != nil {
			return err
		}
		page, err := store.ReadAll(ctx, cp, catchUpPage)
		if err != nil {
			return fmt.Errorf("batch read model: read $all: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		// The job worker catches up every poll beside the runner: a page
		// of events the model does not use (temporary losses and unlocks)
		// only advances the checkpoint in one UPDATE, instead of a
		// transaction holding the checkpoint FOR UPDATE across round trips
		// (which made the runner's own writes wait 5–20 ms under load).
		if err := projections.ApplySelective(ctx, m, page); err != nil {
			return err
		}
	}
}

// CatchUpTo applies events until the read model has seen pos. The store's
// $all may lag a commit for as long as an older transaction runs anywhere in
// the cluster, so it polls until pos shows up.
func (m *ReadModel) CatchUpTo(ctx context.Context, store eventstore.Store, pos eventstore.Position) error {
	for {
		if err := m.CatchUp(ctx, store); err != nil {
			return err
		}
		cp, err := m.Checkpoint(ctx)
		if err != nil {
			return err
		}
		if !cp.Less(pos) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// holderRow is one cardholder as the read model keeps it.
type holderRow struct {
	state   *domain.Cardholder
	batchID string
}

type psamRow = domain.PSAM

type batchRow struct {
	createdOn string
	members   int
	job       int
	pickedUp  bool
}

// Apply implements projections.Projection.
func (m *ReadModel) Apply(ctx context.Context, page []eventstore.RecordedEvent) error {
	return pgx.BeginTxFunc(ctx, m.pool, projections.ApplyTx, func(tx pgx.Tx) error { return m.ApplyTx(ctx, tx, page) })
}

// ApplyTx implements projections.SchemaProjection.
func (m *ReadModel) ApplyTx(ctx context.Context, tx pgx.Tx, page []eventstore.RecordedEvent) error {
	cp, err := projections.LockSchemaCheckpoint(ctx, tx, m.schema)
	if err != nil {
		return fmt.Errorf("batch read model: %w", err)
	}
	var fresh []eventstore.RecordedEvent
	for _, ev := range page {
		if cp.Less(ev.Position) {
			fresh = append(fresh, ev)
		}
	}
	if len(fresh) == 0 {
		return nil
	}
	if m.bulk {
		if _, err := tx.Exec(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
			return err
		}
	}
	f := newRMFold(m.schema)
	if err := f.decode(fresh); err != nil {
		return err
	}
	if err := f.load(ctx, tx); err != nil {
		return err
	}
	f.apply()
	if err := f.write(ctx, tx); err != nil {
		return err
	}
	last := fresh[len(fresh)-1].Position
	_, err = tx.Exec(ctx, "UPDATE "+m.schema+".checkpoint SET pos_commit = $1, pos_prepare = $2", int64(last.Commit), int64(last.Prepare))
	return err
}

type rmEvent struct {
	stream string
	e      domain.Event
}

// rmFold folds one page of events in memory over the rows they touch.
type rmFold struct {
	schema  string
	events  []rmEvent
	holders map[string]*holderRow
	psams   map[string]*psamRow
	batches map[string]*batchRow
	touched map[string]bool // cardholder ids whose row must be written
}

func newRMFold(schema string) *rmFold {
	return &rmFold{schema: schema, holders: map[string]*holderRow{}, psams: map[string]*psamRow{}, batches: map[string]*batchRow{}, touched: map[string]bool{}}
}

func (f *rmFold) decode(page []eventstore.RecordedEvent) error {
	for _, ev := range page {
		var e domain.Event
		var err error
		switch {
		case strings.HasPrefix(ev.Stream, domain.StreamPrefix):
			e, err = domain.DecodeStoredEvent(ev.Type, ev.Data, ev.Metadata)
			if err == nil && unusedByBatches(e) {
				continue
			}
			if err == nil {
				id, _ := domain.CardholderIDOfStream(ev.Stream)
				f.touched[id] = true
			}
		case strings.HasPrefix(ev.Stream, "batch-"), strings.HasPrefix(ev.Stream, "psam-"):
			e, err = domain.DecodeStoredBatchEvent(ev.Type, ev.Data, ev.Metadata)
			if m, ok := e.(domain.BatchMembersAdded); ok {
				for _, mem := range m.Members {
					f.touched[mem.CardholderID] = true
				}
			}
			if r, ok := e.(domain.BatchMembersReleased); ok {
				for _, id := range r.CardholderIDs {
					f.touched[id] = true
				}
			}
		default:
			continue
		}
		if errors.Is(err, domain.ErrUnknownEventType) {
			continue
		}
		if err != nil {
			return fmt.Errorf("batch read model: event %s in %s: %w", ev.ID, ev.Stream, err)
		}
		f.events = append(f.events, rmEvent{ev.Stream, e})
	}
	return nil
}

// unusedByBatches reports the cardholder events the batch read model
// leaves out: a temporary loss and the unlock that lifts it. Batch
// selection reads only applications not yet produced (applied, account
// opened), and only an issued or active card can be temporarily lost; the
// pair changes nothing else a later event reads (a formal loss records the
// same status before the loss either way), so the applications row would
// be rewritten for nothing at each of these, the commonest counter
// commands. The stored state therefore lacks them (its Version counts only
// the events applied), live and rebuilt alike.
func unusedByBatches(e domain.Event) bool {
	switch e := e.(type) {
	case domain.CardTemporarilyLost:
		return true
	case domain.CardUnlocked:
		return e.Lifted == domain.StatusTemporarilyLost
	}
	return false
}

func (f *rmFold) load(ctx context.Context, tx pgx.Tx) error {
	ids := make([]string, 0, len(f.touched))
	for id := range f.touched {
		ids = append(ids, id)
	}
	rows, err := tx.Query(ctx, "SELECT cardholder_id, state, coalesce(batch_id, '') FROM "+f.schema+".applications WHERE cardholder_id = ANY($1)", ids)
	if err != nil {
		return fmt.Errorf("batch read model: load: %w", err)
	}
	for rows.Next() {
		var id, batchID string
		var state []byte
		if err := rows.Scan(&id, &state, &batchID); err != nil {
			return err
		}
		c := &domain.Cardholder{}
		if err := json.Unmarshal(state, c); err != nil {
			return fmt.Errorf("batch read model: cardholder %s: %w", id, err)
		}
		f.holders[id] = &holderRow{state: c, batchID: batchID}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, ev := range f.events {
		if serial, ok := strings.CutPrefix(ev.stream, "psam-"); ok && f.psams[serial] == nil {
			p := &psamRow{}
			err := tx.QueryRow(ctx, "SELECT status, model, vendor, warehouse, agency, terminal_id, reason FROM "+f.schema+".psam WHERE serial = $1", serial).
				Scan(&p.Status, &p.Model, &p.Vendor, &p.Warehouse, &p.Agency, &p.TerminalID, &p.Reason)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("batch read model: psam %s: %w", serial, err)
			}
			p.Serial = serial
			f.psams[serial] = p
		}
		if id, ok := strings.CutPrefix(ev.stream, "batch-"); ok && f.batches[id] == nil {
			b := &batchRow{}
			err := tx.QueryRow(ctx, "SELECT created_on, members, job, picked_up FROM "+f.schema+".batches WHERE batch_id = $1", id).
				Scan(&b.createdOn, &b.members, &b.job, &b.pickedUp)
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("batch read model: batch %s: %w", id, err)
			}
			f.batches[id] = b
		}
	}
	return nil
}

func (f *rmFold) holder(id string) *holderRow {
	h := f.holders[id]
	if h == nil {
		h = &holderRow{state: domain.NewCardholder(id)}
		f.holders[id] = h
	}
	return h
}

func (f *rmFold) apply() {
	for _, ev := range f.events {
		if id, ok := domain.CardholderIDOfStream(ev.stream); ok {
			h := f.holder(id)
			h.state.Apply(ev.e)
			switch ev.e.(type) {
			case domain.CardApplied, domain.BankAccountRefused, domain.CardProductionFailed:
				// A new application, or one that is pending again: free for the next batch.
				h.batchID = ""
			}
			continue
		}
		if serial, ok := strings.CutPrefix(ev.stream, "psam-"); ok {
			_ = f.psams[serial].Apply(ev.e)
			continue
		}
		batchID, _ := strings.CutPrefix(ev.stream, "batch-")
		b := f.batches[batchID]
		switch e := ev.e.(type) {
		case domain.BatchCreated:
			b.createdOn, b.members = e.CreatedOn, e.MemberCount
		case domain.BatchMembersAdded:
			for _, m := range e.Members {
				f.holder(m.CardholderID).batchID = batchID
			}
		case domain.BatchReturnAccepted:
			b.job = e.Job
		case domain.BatchHandedOver:
			b.job = e.Job
		case domain.BatchPickedUp:
			b.job, b.pickedUp = e.Job, true
		case domain.BatchJobRetried:
			b.job = e.Job
		case domain.BatchMembersReleased:
			for _, id := range e.CardholderIDs {
				if h := f.holder(id); h.batchID == batchID {
					h.batchID = ""
				}
			}
		case domain.BatchJobCompleted:
			b.job = 0
		}
	}
}

func (f *rmFold) write(ctx context.Context, tx pgx.Tx) error {
	var batch pgx.Batch
	for id := range f.touched {
		h := f.holders[id]
		if h == nil {
			continue
		}
		state, err := json.Marshal(h.state)
		if err != nil {
			return err
		}
		c := h.state
		var source, kind string
		if c.Card != nil {
			source, kind = string(c.Card.Source), string(c.Card.Kind)
		}
		batch.Queue(`INSERT INTO `+f.schema+`.applications (cardholder_id, state, status, region_code, employer_code, community_code, source, kind, id_number, batch_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, ''))
			ON CONFLICT (cardholder_id) DO UPDATE SET state = $2, status = $3, region_code = $4, employer_code = $5,
				community_code = $6, source = $7, kind = $8, id_number = $9, batch_id = NULLIF($10, '')`,
			id, state, string(c.Status()), c.Profile.RegionCode, c.Profile.EmployerCode, c.Profile.CommunityCode, source, kind, c.Profile.IDNumber, h.batchID)
	}
	for serial, p := range f.psams {
		batch.Queue(`INSERT INTO `+f.schema+`.psam (serial, status, model, vendor, warehouse, agency, terminal_id, reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (serial) DO UPDATE SET status = $2, model = $3, vendor = $4, warehouse = $5, agency = $6, terminal_id = $7, reason = $8`,
			serial, string(p.Status), p.Model, p.Vendor, p.Warehouse, p.Agency, p.TerminalID, p.Reason)
	}
	for id, b := range f.batches {
		batch.Queue(`INSERT INTO `+f.schema+`.batches (batch_id, created_on, members, job, picked_up) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (batch_id) DO UPDATE SET created_on = $2, members = $3, job = $4, picked_up = $5`,
			id, b.createdOn, b.members, b.job, b.pickedUp)
	}
	if batch.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, &batch).Close(); err != nil {
		return fmt.Errorf("batch read model: write: %w", err)
	}
	return nil
}
