package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/projections"
)

// ProjectionName is the analytics projection's name in locks, metrics and
// the checkpoint table.
const ProjectionName = "clickhouse-analytics"

// RunnerOptions are the projections.Runner options the analytics projection
// should run with, on a Runner of its own: ClickHouse wants few large
// inserts (every insert makes a part that must be merged later), so live
// batches linger longer and pages are larger than for PostgreSQL read models.
func RunnerOptions() projections.Options {
	return projections.Options{MaxBatch: 50000, Linger: 250 * time.Millisecond, PageSize: 50000}
}

// Projection writes usage and card lifecycle facts to ClickHouse. It
// implements projections.Projection; see the package doc for how it keeps
// query results exact across crashes.
//
// It keeps in memory what it needs to place a usage fact: each cardholder's
// home city, each card's holder, and which cards are on the blacklist. That
// state is also in ClickHouse (holders, cards, card_events) and is loaded
// back by Recover, so it never depends on the process staying up.
//
// Recover and Apply write and run only in the instance holding the
// projection's lock, one call at a time; they alone touch the in-memory
// state. Checkpoint only reads ClickHouse, so status endpoints of any
// instance may call it at any time.
type Projection struct {
	conn driver.Conn
	opts options // the cluster the tables live on, if any
	// suffix is appended to every table name: "" for the live tables,
	// rebuildSuffix for the copy a rebuild fills (Shadow).
	suffix string

	mu      sync.Mutex // guards stored and loaded for Stored readers
	stored  checkpoint
	loaded  bool
	dirty   bool // an Apply failed part-way: rows after stored may exist
	lastSeq uint64

	holders     map[string]holderInfo // cardholder id → home
	cards       map[string]string     // card number → cardholder id
	blacklisted map[string]bool       // card numbers now on the blacklist

	usage      usageRows
	cardEvents cardEventRows
}

type holderInfo struct {
	region, city string
}

type checkpoint struct {
	pos     eventstore.Position
	eventAt time.Time // recorded time of the event at pos
}

var _ projections.Recoverer = (*Projection)(nil)

// NewProjection returns the projection writing through conn, whose database
// must be migrated (Migrate, with the same options).
func NewProjection(conn driver.Conn, opts ...Option) *Projection {
	return &Projection{conn: conn, opts: optionsOf(opts)}
}

// writeContext is ctx with the settings of the projection's inserts.
func (p *Projection) writeContext(ctx context.Context) context.Context {
	if p.opts.cluster == "" {
		return ctx
	}
	return clusterWrite(ctx)
}

func (p *Projection) Name() string { return ProjectionName }

// table is the name of the projection's table base in its storage.
func (p *Projection) table(base string) string { return base + p.suffix }

// Checkpoint reads the stored checkpoint. It changes nothing: rows after it
// may be the lock holder's Apply in flight, not debris of a crash.
func (p *Projection) Checkpoint(ctx context.Context) (eventstore.Position, error) {
	cp, err := readCheckpoint(ctx, p.conn, p.table("projection_checkpoints"))
	if err != nil {
		return eventstore.Start, err
	}
	return cp.pos, nil
}

// Recover implements projections.Recoverer: it removes fact rows that a
// failed or interrupted Apply left after the stored checkpoint, loads the
// projection's state from ClickHouse, and returns that checkpoint. Only the
// holder of the projection's lock may call it (the runner does, on taking
// the lock): in any other instance it would delete the rows the holder is
// writing.
func (p *Projection) Recover(ctx context.Context) (eventstore.Position, error) {
	cp, err := readCheckpoint(ctx, p.conn, p.table("projection_checkpoints"))
	if err != nil {
		return eventstore.Start, err
	}
	if p.opts.cluster != "" {
		err = deleteAfterOnCluster(ctx, p.conn, p.opts, cp.pos, p.suffix)
	} else {
		err = deleteAfter(ctx, p.conn, cp.pos, p.suffix)
	}
	if err != nil {
		return eventstore.Start, err
	}
	if err := p.loadState(ctx); err != nil {
		return eventstore.Start, err
	}
	p.mu.Lock()
	p.stored, p.loaded, p.dirty = cp, true, false
	p.mu.Unlock()
	return cp.pos, nil
}

// Apply writes the facts of batch, then the checkpoint. Events at or before
// the stored checkpoint are skipped.
func (p *Projection) Apply(ctx context.Context, batch []eventstore.RecordedEvent) error {
	if !p.loaded || p.dirty {
		if _, err := p.Recover(ctx); err != nil {
			return err
		}
	}
	p.usage.reset()
	p.cardEvents.reset()
	holders := make(map[string]holderRow)
	cards := make(map[string]cardRow)
	last := p.stored
	for _, ev := range batch {
		if !p.stored.pos.Less(ev.Position) {
			continue
		}
		if err := p.project(ev, holders, cards); err != nil {
			return fmt.Errorf("project %s@%d (%s): %w", ev.Stream, ev.Revision, ev.Type, err)
		}
		last = checkpoint{pos: ev.Position, eventAt: ev.RecordedAt}
	}
	if last.pos == p.stored.pos {
		return nil
	}
	p.dirty = true // until the checkpoint is stored
	ctx = p.writeContext(ctx)
	if err := insertHolders(ctx, p.conn, p.table("holders"), holders); err != nil {
		return err
	}
	if err := insertCards(ctx, p.conn, p.table("cards"), cards); err != nil {
		return err
	}
	if err := p.usage.send(ctx, p.conn, p.table("usage_facts")); err != nil {
		return err
	}
	if err := p.cardEvents.send(ctx, p.conn, p.table("card_events")); err != nil {
		return err
	}
	seq := max(uint64(time.Now().UnixNano()), p.lastSeq+1)
	if err := writeCheckpoint(ctx, p.conn, p.table("projection_checkpoints"), last, seq); err != nil {
		return err
	}
	p.lastSeq = seq
	p.mu.Lock()
	p.stored, p.dirty = last, false
	p.mu.Unlock()
	return nil
}

// Stored returns the checkpoint this process last stored or recovered, and
// the recorded time of that event; ok is false before the first Recover.
func (p *Projection) Stored() (pos eventstore.Position, eventAt time.Time, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stored.pos, p.stored.eventAt, p.loaded
}

type holderRow struct {
	holderInfo
	version uint64
}

type cardRow struct {
	holder  string
	version uint64
}

// project turns one event into rows and updates the in-memory state.
func (p *Projection) project(ev eventstore.RecordedEvent, holders map[string]holderRow, cards map[string]cardRow) error {
	if ev.Type == domain.UsageEventType {
		u, err := decodeUsageFact(ev.Data)
		if err != nil {
			return err
		}
		holder := p.cards[u.CardNo]
		p.usage.add(ev.ID, ev.Position, u, holder, p.holders[holder].city)
		return nil
	}
	holder, ok := domain.CardholderIDOfStream(ev.Stream)
	if !ok {
		return nil
	}
	e, err := domain.DecodeStoredEvent(ev.Type, ev.Data, ev.Metadata)
	if errors.Is(err, domain.ErrUnknownEventType) {
		return nil
	}
	if err != nil {
		return err
	}
	switch e := e.(type) {
	case domain.CardholderRegistered:
		h := holderInfo{region: e.RegionCode, city: domain.PrefectureOf(e.RegionCode)}
		p.holders[holder] = h
		holders[holder] = holderRow{h, ev.Revision}
	case domain.CardholderTransferredOut:
		h := holderInfo{region: e.ToRegion, city: domain.PrefectureOf(e.ToRegion)}
		p.holders[holder] = h
		holders[holder] = holderRow{h, ev.Revision}
	case domain.CardTransferredIn:
		// The card is this city's now, and so is its holder again (after a
		// transfer out, the holder's home was the city they left for).
		h := holderInfo{region: e.ToRegion, city: domain.PrefectureOf(e.ToRegion)}
		p.holders[holder] = h
		holders[holder] = holderRow{h, ev.Revision}
		p.cards[e.CardNo] = holder
		cards[e.CardNo] = cardRow{holder, ev.Revision}
	case domain.CardNumberAssigned:
		p.cards[e.CardNo] = holder
		cards[e.CardNo] = cardRow{holder, ev.Revision}
	case domain.LegacyCardRecorded:
		// A legacy card was never assigned here: this is its only record.
		p.cards[e.CardNo] = holder
		cards[e.CardNo] = cardRow{holder, ev.Revision}
	}
	fact, ok := p.lifecycle(holder, e)
	if !ok {
		return nil
	}
	at := occurredAt(ev)
	local := at.In(domain.ChinaTime())
	y, m, d := local.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if issued, ok := e.(domain.CardIssued); ok {
		// The issue date is part of the fact; a counter may record it late.
		if t, err := time.Parse(time.DateOnly, issued.IssuedOn); err == nil {
			day = t
		}
	}
	p.cardEvents.add(ev, day, at.UTC(), fact)
	return nil
}

// lifecycleFact is one card_events row.
type lifecycleFact struct {
	holder, cardNo, event, detail, homeCity string
	blacklistDelta                          int8
}

// lifecycle maps a cardholder event to its lifecycle fact; ok is false for
// events analytics does not count. It also moves cards on and off the
// in-memory blacklist, so that blacklistDelta counts each card once however
// it got there (e.g. lost, then cancelled for replacement).
func (p *Projection) lifecycle(holder string, e domain.Event) (f lifecycleFact, ok bool) {
	f = lifecycleFact{holder: holder, homeCity: p.holders[holder].city}
	enter := func(card string) int8 {
		if p.blacklisted[card] {
			return 0
		}
		p.blacklisted[card] = true
		return 1
	}
	leave := func(card string) int8 {
		if !p.blacklisted[card] {
			return 0
		}
		delete(p.blacklisted, card)
		return -1
	}
	switch e := e.(type) {
	case domain.CardholderRegistered:
		f.event = "registered"
	case domain.CardApplied:
		f.event, f.detail = "applied", string(e.Kind)
	case domain.CardProduced:
		f.event, f.cardNo = "produced", e.CardNo
	case domain.CardIssued:
		f.event, f.cardNo = "issued", e.CardNo
	case domain.CardActivated:
		f.event, f.cardNo = "activated", e.CardNo
	case domain.CardReportedLost:
		f.event, f.cardNo, f.blacklistDelta = "lost", e.CardNo, enter(e.CardNo)
	case domain.CardTemporarilyLost:
		f.event, f.cardNo, f.blacklistDelta = "temporarily_lost", e.CardNo, enter(e.CardNo)
	case domain.CardUnlocked:
		f.event, f.cardNo, f.blacklistDelta = "unlocked", e.CardNo, leave(e.CardNo)
	case domain.CardCancelled:
		f.event, f.cardNo, f.detail, f.blacklistDelta = "cancelled", e.CardNo, string(e.Cause), enter(e.CardNo)
	case domain.CardCancellationRestored:
		f.event, f.cardNo, f.detail = "restored", e.CardNo, string(e.To)
		if !e.To.Blacklisted() {
			f.blacklistDelta = leave(e.CardNo)
		}
	case domain.CardholderTransferredOut:
		f.event, f.cardNo, f.detail = "transferred_out", e.CardNo, e.ToRegion
		if e.CardNo != "" {
			f.blacklistDelta = leave(e.CardNo)
		}
	case domain.CardTransferredIn:
		// Counterpart of transferred_out: detail is the city it came from.
		// The card arrives issued or active, so it is not listed here.
		f.event, f.cardNo, f.detail, f.blacklistDelta = "transferred_in", e.CardNo, e.FromRegion, leave(e.CardNo)
	case domain.LegacyCardRecorded:
		// One fact per migrated holder (a migration records exactly one
		// legacy card; CardholderMigrated carries only the file's
		// provenance and is not counted). A card the old system had lost or
		// cancelled enters the blacklist on the day of the migration, when
		// this system starts refusing it.
		f.event, f.cardNo, f.detail = "migrated", e.CardNo, string(e.Generation)
		if e.Status.Blacklisted() {
			f.blacklistDelta = enter(e.CardNo)
		}
	case domain.ECardIssued:
		f.event, f.cardNo = "ecard_issued", e.CardNo
	case domain.ECardRevoked:
		// Why, as CardCancelled's detail says why: "unrecorded" for
		// revocations stored before causes were (ECardRevoked version 1).
		f.event, f.cardNo, f.detail = "ecard_revoked", e.CardNo, string(e.Cause)
	case domain.PersonalDataCorrected:
		// Counted by field, never with the value: analytics holds no
		// personal data, and employer and community are not projected.
		f.event, f.detail = "corrected", string(e.Field)
	case domain.PhoneChanged:
		if e.Reason == "" {
			return f, false // the holder's own change through a channel, not a correction
		}
		f.event, f.detail = "corrected", string(domain.CorrectPhone)
	default:
		return f, false
	}
	return f, true
}

// occurredAt is when the fact happened according to its envelope, else when
// it was recorded.
func occurredAt(ev eventstore.RecordedEvent) time.Time {
	var md domain.Metadata
	if len(ev.Metadata) > 0 && json.Unmarshal(ev.Metadata, &md) == nil && !md.OccurredAt.IsZero() {
		return md.OccurredAt
	}
	return ev.RecordedAt
}

// loadState reads the dimension tables and the blacklist back into memory.
func (p *Projection) loadState(ctx context.Context) error {
	p.holders = make(map[string]holderInfo)
	p.cards = make(map[string]string)
	p.blacklisted = make(map[string]bool)
	rows, err := p.conn.Query(ctx, `SELECT holder, argMax(home_region, version), argMax(home_city, version)
		FROM `+p.table("holders")+` GROUP BY holder`)
	if err != nil {
		return fmt.Errorf("load holders: %w", err)
	}
	for rows.Next() {
		var id string
		var h holderInfo
		if err := rows.Scan(&id, &h.region, &h.city); err != nil {
			rows.Close()
			return fmt.Errorf("load holders: %w", err)
		}
		p.holders[id] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load holders: %w", err)
	}
	rows, err = p.conn.Query(ctx, `SELECT card_no, argMax(holder, version) FROM `+p.table("cards")+` GROUP BY card_no`)
	if err != nil {
		return fmt.Errorf("load cards: %w", err)
	}
	for rows.Next() {
		var card, holder string
		if err := rows.Scan(&card, &holder); err != nil {
			rows.Close()
			return fmt.Errorf("load cards: %w", err)
		}
		p.cards[card] = holder
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load cards: %w", err)
	}
	rows, err = p.conn.Query(ctx, `SELECT card_no FROM `+p.table("card_events")+` WHERE card_no != ''
		GROUP BY card_no HAVING sum(blacklist_delta) > 0`)
	if err != nil {
		return fmt.Errorf("load blacklist: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var card string
		if err := rows.Scan(&card); err != nil {
			return fmt.Errorf("load blacklist: %w", err)
		}
		p.blacklisted[card] = true
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load blacklist: %w", err)
	}
	return nil
}

func insertHolders(ctx context.Context, conn driver.Conn, table string, holders map[string]holderRow) error {
	if len(holders) == 0 {
		return nil
	}
	var ids, regions, cities []string
	var versions []uint64
	for id, h := range holders {
		ids, regions, cities, versions = append(ids, id), append(regions, h.region), append(cities, h.city), append(versions, h.version)
	}
	return sendColumns(ctx, conn, "INSERT INTO "+table+" (holder, home_region, home_city, version)", ids, regions, cities, versions)
}

func insertCards(ctx context.Context, conn driver.Conn, table string, cards map[string]cardRow) error {
	if len(cards) == 0 {
		return nil
	}
	var nos, holders []string
	var versions []uint64
	for no, c := range cards {
		nos, holders, versions = append(nos, no), append(holders, c.holder), append(versions, c.version)
	}
	return sendColumns(ctx, conn, "INSERT INTO "+table+" (card_no, holder, version)", nos, holders, versions)
}

// readCheckpoint reads the checkpoint stored in table (projection_checkpoints
// or its rebuild copy).
func readCheckpoint(ctx context.Context, conn driver.Conn, table string) (checkpoint, error) {
	var commit, prepare, n uint64
	var eventAt time.Time
	err := conn.QueryRow(ctx, `SELECT argMax(pos_commit, seq), argMax(pos_prepare, seq), argMax(event_at, seq), count()
		FROM `+table+` WHERE name = ?`, ProjectionName).Scan(&commit, &prepare, &eventAt, &n)
	if err != nil {
		return checkpoint{}, fmt.Errorf("read checkpoint: %w", err)
	}
	if n == 0 {
		return checkpoint{pos: eventstore.Start}, nil
	}
	return checkpoint{pos: eventstore.Position{Commit: commit, Prepare: prepare}, eventAt: eventAt}, nil
}

func writeCheckpoint(ctx context.Context, conn driver.Conn, table string, cp checkpoint, seq uint64) error {
	b, err := conn.PrepareBatch(ctx, "INSERT INTO "+table+" (name, pos_commit, pos_prepare, event_at, written_at, seq)")
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := b.Append(ProjectionName, cp.pos.Commit, cp.pos.Prepare, cp.eventAt.UTC(), time.Now().UTC(), seq); err != nil {
		_ = b.Abort()
		return fmt.Errorf("write checkpoint: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// factTables hold one row per event, tagged with its position.
var factTables = []string{"usage_facts", "card_events"}

// deleteAfter removes fact rows written after pos (from the fact tables
// named with suffix) and waits until they are
// gone. Mutations are slow, so it only starts one when such rows exist,
// which is only after a crash or a failed Apply.
func deleteAfter(ctx context.Context, conn driver.Conn, pos eventstore.Position, suffix string) error {
	cond := afterCondition(pos)
	for _, base := range factTables {
		table := base + suffix
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+table+" WHERE "+cond).Scan(&n); err != nil {
			return fmt.Errorf("count %s after checkpoint: %w", table, err)
		}
		if n == 0 {
			continue
		}
		if err := conn.Exec(ctx, "ALTER TABLE "+table+" DELETE WHERE "+cond); err != nil {
			return fmt.Errorf("delete %d rows of %s after checkpoint: %w", n, table, err)
		}
		if err := waitMutations(ctx, conn, table); err != nil {
			return err
		}
	}
	return nil
}

// afterCondition selects the fact rows of events after pos.
func afterCondition(pos eventstore.Position) string {
	return fmt.Sprintf("pos_commit > %d OR (pos_commit = %d AND pos_prepare > %d)", pos.Commit, pos.Commit, pos.Prepare)
}

func waitMutations(ctx context.Context, conn driver.Conn, table string) error {
	for {
		var pending uint64
		err := conn.QueryRow(ctx, `SELECT count() FROM system.mutations
			WHERE database = currentDatabase() AND table = ? AND is_done = 0`, table).Scan(&pending)
		if err != nil {
			return fmt.Errorf("wait for mutations of %s: %w", table, err)
		}
		if pending == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for mutations of %s: %w", table, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
