package readmodel

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cardledger/cardledger/eventstore"

	"github.com/cardledger/cardledger/projections"
)

// upserts holds upsertSQL's statements by table: built once, not per batch.
var upserts sync.Map

// upsertSQL is one INSERT ... SELECT FROM unnest(...) ON CONFLICT
// statement: a whole batch of rows in one statement, one array per column.
// expr, when set, turns the unnested value into the column's value. A
// table's key and columns never change.
func upsertSQL(table, key string, cols []column) string {
	if sql, ok := upserts.Load(table); ok {
		return sql.(string)
	}
	sql := buildUpsertSQL(table, key, cols)
	upserts.Store(table, sql)
	return sql
}

func buildUpsertSQL(table, key string, cols []column) string {
	var names, params, sel, set []string
	for i, c := range cols {
		names = append(names, c.name)
		params = append(params, fmt.Sprintf("$%d::%s[]", i+1, c.typ))
		e := c.name
		if c.expr != "" {
			e = strings.ReplaceAll(c.expr, "_", c.name)
		}
		sel = append(sel, e)
		if c.name != key {
			set = append(set, c.name+" = excluded."+c.name)
		}
	}
	return "INSERT INTO " + table + " (" + strings.Join(names, ", ") + ") SELECT " + strings.Join(sel, ", ") +
		" FROM unnest(" + strings.Join(params, ", ") + ") AS u(" + strings.Join(names, ", ") + ")" +
		" ON CONFLICT (" + key + ") DO UPDATE SET " + strings.Join(set, ", ")
}

type column struct {
	name, typ string
	expr      string // "_" stands for the unnested value
}

var cardholderColumns = []column{
	{name: "stream", typ: "text"}, {name: "cardholder_id", typ: "text"}, {name: "id_number", typ: "text"},
	{name: "name", typ: "text"}, {name: "sex", typ: "text"}, {name: "birth_date", typ: "text"},
	{name: "nationality", typ: "text"}, {name: "region_code", typ: "text"}, {name: "phone", typ: "text"},
	{name: "employer_code", typ: "text"}, {name: "community_code", typ: "text"},
	{name: "application_id", typ: "text"}, {name: "card_no", typ: "text"}, {name: "card_status", typ: "text"},
	{name: "last_failure", typ: "text"}, {name: "deceased", typ: "boolean"},
	{name: "registered_at", typ: "timestamptz"}, {name: "updated_at", typ: "timestamptz"},
	{name: "revision", typ: "bigint"}, {name: "state", typ: "bytea"},
}

var cardColumns = []column{
	{name: "card_no", typ: "text"}, {name: "stream", typ: "text"}, {name: "cardholder_id", typ: "text"},
	{name: "application_id", typ: "text"}, {name: "kind", typ: "text"}, {name: "source", typ: "text"},
	{name: "status", typ: "text"}, {name: "is_current", typ: "boolean"}, {name: "bank_code", typ: "text"},
	{name: "account_no", typ: "text"}, {name: "chip_id", typ: "text"}, {name: "vendor", typ: "text"},
	{name: "issued_on", typ: "text", expr: "NULLIF(_, '')::date"},
	{name: "expires_on", typ: "text", expr: "NULLIF(_, '')::date"},
	{name: "agency", typ: "text"}, {name: "custody_at", typ: "text"}, {name: "custody_from", typ: "text"},
	{name: "custody_handler", typ: "text"}, {name: "last_failure", typ: "text"}, {name: "ecard_issued", typ: "boolean"},
	{name: "cancel_cause", typ: "text"}, {name: "transferred_to", typ: "text"}, {name: "region_code", typ: "text"},
	{name: "community_code", typ: "text"}, {name: "employer_code", typ: "text"},
	{name: "applied_at", typ: "timestamptz"}, {name: "status_since", typ: "timestamptz"}, {name: "updated_at", typ: "timestamptz"},
}

var blacklistColumns = []column{
	{name: "card_no", typ: "text"}, {name: "reason", typ: "text"}, {name: "since", typ: "timestamptz"}, {name: "seq", typ: "bigint"},
}

// write stores the fold's rows and the new checkpoint in tx. Steps,
// changes and new streams go by COPY; the upserts, the deletes and the
// checkpoint in one pipelined batch, so a batch of events costs a handful
// of round trips.
func (m *Model) write(ctx context.Context, tx pgx.Tx, f *fold, last eventstore.Position) error {
	if len(f.steps) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{m.schema, "steps"}, stepColumns,
			pgx.CopyFromSlice(len(f.steps), func(i int) ([]any, error) {
				s := f.steps[i]
				return []any{int64(s.pos.Commit), int64(s.pos.Prepare), s.stream, s.applicationID, s.cardNo,
					s.step, s.at, s.from, s.to, s.handler, s.detail}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy steps: %w", err)
		}
	}
	if len(f.changes) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{m.schema, "blacklist_changes"}, changeColumns,
			pgx.CopyFromSlice(len(f.changes), func(i int) ([]any, error) {
				c := f.changes[i]
				return []any{c.seq, c.cardNo, c.op, c.reason, c.at, int64(c.pos.Commit), int64(c.pos.Prepare)}, nil
			}))
		if err != nil {
			return fmt.Errorf("copy blacklist changes: %w", err)
		}
	}
	// Streams without rows yet (every stream, in a rebuild's first pass over
	// it) are plain inserts and go by COPY; the others are upserted. No
	// other writer can add them meanwhile: the checkpoint lock serialises
	// writers, and card numbers are unique, so a new stream's cards are new.
	var fresh []string
	for _, stream := range sortedKeys(f.dirty) {
		if !f.stored[stream] {
			fresh = append(fresh, stream)
		}
	}
	if len(fresh) > 0 {
		holders, cards, err := rowsOf(f, fresh)
		if err != nil {
			return err
		}
		if err := m.copyColumns(ctx, tx, "cardholders", cardholderColumns, holders); err != nil {
			return err
		}
		if err := m.copyColumns(ctx, tx, "cards", cardColumns, cards); err != nil {
			return err
		}
	}
	b := &pgx.Batch{}
	if m.bulk {
		b.Queue("SET LOCAL synchronous_commit = off")
	}
	if err := m.queueWrites(b, f, true); err != nil {
		return err
	}
	b.Queue("UPDATE "+m.schema+".checkpoint SET pos_commit = $1, pos_prepare = $2, last_seq = $3, updated_at = now()",
		int64(last.Commit), int64(last.Prepare), f.lastSeq)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("write read model: %w", err)
	}
	return nil
}

var (
	stepColumns = []string{"pos_commit", "pos_prepare", "stream", "application_id", "card_no", "step", "at",
		"from_party", "to_party", "handler", "detail"}
	changeColumns = []string{"seq", "card_no", "op", "reason", "at", "pos_commit", "pos_prepare"}
)

// queueWrites queues the fold's row writes on b. copied: write has
// already COPYed the steps, the changes and the new streams, and the change
// notification is queued here; otherwise those rows are queued too, as
// inserts from arrays, and the guard sends the notification.
func (m *Model) queueWrites(b *pgx.Batch, f *fold, copied bool) error {
	if !copied && len(f.steps) > 0 {
		n := len(f.steps)
		pc, pp := make([]int64, n), make([]int64, n)
		stream, app, card, step, from, to, handler, detail := make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		at := make([]time.Time, n)
		for i, s := range f.steps {
			pc[i], pp[i], stream[i], app[i], card[i], step[i], at[i] = int64(s.pos.Commit), int64(s.pos.Prepare),
				s.stream, s.applicationID, s.cardNo, s.step, s.at
			from[i], to[i], handler[i], detail[i] = s.from, s.to, s.handler, s.detail
		}
		b.Queue("INSERT INTO "+m.schema+".steps ("+strings.Join(stepColumns, ", ")+`)
			SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
				$7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::text[])`,
			pc, pp, stream, app, card, step, at, from, to, handler, detail)
	}
	if !copied && len(f.changes) > 0 {
		n := len(f.changes)
		seq, pc, pp := make([]int64, n), make([]int64, n), make([]int64, n)
		card, op, reason := make([]string, n), make([]string, n), make([]string, n)
		at := make([]time.Time, n)
		for i, c := range f.changes {
			seq[i], card[i], op[i], reason[i], at[i], pc[i], pp[i] = c.seq, c.cardNo, c.op, c.reason, c.at,
				int64(c.pos.Commit), int64(c.pos.Prepare)
		}
		b.Queue("INSERT INTO "+m.schema+".blacklist_changes ("+strings.Join(changeColumns, ", ")+`)
			SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[], $7::bigint[])`,
			seq, card, op, reason, at, pc, pp)
	}
	var upsert []string
	for _, stream := range sortedKeys(f.dirty) {
		if !copied || f.stored[stream] {
			upsert = append(upsert, stream)
		}
	}
	if len(upsert) > 0 {
		holders, cards, err := rowsOf(f, upsert)
		if err != nil {
			return err
		}
		b.Queue(upsertSQL(m.schema+".cardholders", "stream", cardholderColumns), holders...)
		if len(cards[0].([]string)) > 0 {
			b.Queue(upsertSQL(m.schema+".cards", "card_no", cardColumns), cards...)
		}
	}
	if len(f.listed) > 0 {
		var add, del []string
		var reasons []string
		var since []time.Time
		var seqs []int64
		for _, cardNo := range sortedKeys(f.listed) {
			e := f.listed[cardNo]
			if e.reason == "" {
				if f.wasListed[cardNo] {
					del = append(del, cardNo)
				}
				continue
			}
			add = append(add, cardNo)
			reasons = append(reasons, e.reason)
			since = append(since, e.since)
			seqs = append(seqs, e.seq)
		}
		if len(add) > 0 {
			b.Queue(upsertSQL(m.schema+".blacklist", "card_no", blacklistColumns), add, reasons, since, seqs)
		}
		if len(del) > 0 {
			b.Queue("DELETE FROM "+m.schema+".blacklist WHERE card_no = ANY($1)", del)
		}
	}
	if copied {
		// Sent at commit: wakes read-your-writes waiters and feed long
		// polls in every process. (A guarded batch's guard sends it.)
		b.Queue("SELECT pg_notify($1, $2)", projections.NotifyChannel, Name)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// copyColumns COPYs rows given as column arrays (as rowsOf builds them).
func (m *Model) copyColumns(ctx context.Context, tx pgx.Tx, table string, cols []column, arrays []any) error {
	n := columnLen(arrays[0])
	if n == 0 {
		return nil
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	row := make([]any, len(cols))
	_, err := tx.CopyFrom(ctx, pgx.Identifier{m.schema, table}, names, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		for j, a := range arrays {
			row[j] = cell(a, i, cols[j])
		}
		return row, nil
	}))
	if err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	return nil
}

func columnLen(a any) int {
	switch a := a.(type) {
	case []string:
		return len(a)
	}
	return 0
}

// cell is row i of a column array, converted as the column's SQL
// expression would convert it in an upsert.
func cell(a any, i int, c column) any {
	switch a := a.(type) {
	case []string:
		if c.typ == "text" && strings.Contains(c.expr, "::date") {
			if a[i] == "" {
				return nil
			}
			d, err := time.Parse(time.DateOnly, a[i])
			if err != nil {
				return nil
			}
			return pgtype.Date{Time: d, Valid: true}
		}
		return a[i]
	case []bool:
		return a[i]
	case []int64:
		return a[i]
	case []time.Time:
		return a[i]
	case []pgtype.Timestamptz:
		return a[i]
	case [][]byte:
		return a[i]
	}
	panic(fmt.Sprintf("projections: no cell conversion for %T", a))
}

// rowsOf turns the given dirty streams into column arrays.
func rowsOf(f *fold, streams []string) (holders, cards []any, err error) {
	h := struct {
		stream, id, idNumber, name, sex, birth, nat, region, phone, employer, community,
		app, cardNo, status, failure []string
		state        [][]byte
		deceased     []bool
		registeredAt []pgtype.Timestamptz
		updatedAt    []time.Time
		revision     []int64
	}{}
	var c struct {
		cardNo, stream, id, app, kind, source, status, bank, account, chip, vendor, issued, expires,
		agency, custodyAt, custodyFrom, custodyHandler, failure, cause, transferred, region, community, employer []string
		current, ecard                []bool
		applied, statusSince, updated []time.Time
	}
	for _, stream := range streams {
		doc := f.docs[stream]
		st := doc.State
		p := st.Profile
		state, err := json.Marshal(doc)
		if err != nil {
			return nil, nil, fmt.Errorf("encode state of %s: %w", stream, err)
		}
		var app, cardNo, status, failure string
		if st.Card != nil {
			app, cardNo, status, failure = st.Card.ApplicationID, st.Card.CardNo, string(st.Card.Status), st.Card.LastFailure
		}
		h.stream = append(h.stream, stream)
		h.id = append(h.id, st.ID)
		h.idNumber = append(h.idNumber, p.IDNumber)
		h.name = append(h.name, p.Name)
		h.sex = append(h.sex, string(p.Sex))
		h.birth = append(h.birth, p.BirthDate)
		h.nat = append(h.nat, p.Nationality)
		h.region = append(h.region, p.RegionCode)
		h.phone = append(h.phone, p.Phone)
		h.employer = append(h.employer, p.EmployerCode)
		h.community = append(h.community, p.CommunityCode)
		h.app = append(h.app, app)
		h.cardNo = append(h.cardNo, cardNo)
		h.status = append(h.status, status)
		h.failure = append(h.failure, failure)
		h.deceased = append(h.deceased, st.Deceased)
		h.registeredAt = append(h.registeredAt, pgtype.Timestamptz{Time: doc.RegisteredAt, Valid: !doc.RegisteredAt.IsZero()})
		h.updatedAt = append(h.updatedAt, doc.UpdatedAt)
		h.revision = append(h.revision, int64(doc.Revision))
		h.state = append(h.state, state)

		for _, card := range doc.cards() {
			if card.CardNo == "" {
				continue
			}
			t := doc.Cards[card.ApplicationID]
			cause := ""
			if card.Cancellation != nil {
				cause = string(card.Cancellation.Cause)
			}
			c.cardNo = append(c.cardNo, card.CardNo)
			c.stream = append(c.stream, stream)
			c.id = append(c.id, st.ID)
			c.app = append(c.app, card.ApplicationID)
			c.kind = append(c.kind, string(card.Kind))
			c.source = append(c.source, string(card.Source))
			c.status = append(c.status, string(card.Status))
			c.current = append(c.current, card == st.Card)
			c.bank = append(c.bank, card.BankCode)
			c.account = append(c.account, card.AccountNo)
			c.chip = append(c.chip, card.ChipID)
			c.vendor = append(c.vendor, card.Vendor)
			c.issued = append(c.issued, card.IssuedOn)
			c.expires = append(c.expires, card.ExpiresOn)
			c.agency = append(c.agency, card.Agency)
			c.custodyAt = append(c.custodyAt, card.Custody.At)
			c.custodyFrom = append(c.custodyFrom, card.Custody.From)
			c.custodyHandler = append(c.custodyHandler, card.Custody.Handler)
			c.failure = append(c.failure, card.LastFailure)
			c.ecard = append(c.ecard, card.ECardIssued)
			c.cause = append(c.cause, cause)
			c.transferred = append(c.transferred, card.TransferredTo)
			c.region = append(c.region, p.RegionCode)
			c.community = append(c.community, p.CommunityCode)
			c.employer = append(c.employer, p.EmployerCode)
			c.applied = append(c.applied, t.AppliedAt)
			c.statusSince = append(c.statusSince, t.StatusSince)
			c.updated = append(c.updated, t.UpdatedAt)
		}
	}
	holders = []any{h.stream, h.id, h.idNumber, h.name, h.sex, h.birth, h.nat, h.region, h.phone,
		h.employer, h.community, h.app, h.cardNo, h.status, h.failure, h.deceased,
		h.registeredAt, h.updatedAt, h.revision, h.state}
	cards = []any{c.cardNo, c.stream, c.id, c.app, c.kind, c.source, c.status, c.current, c.bank,
		c.account, c.chip, c.vendor, c.issued, c.expires, c.agency, c.custodyAt, c.custodyFrom,
		c.custodyHandler, c.failure, c.ecard, c.cause, c.transferred, c.region, c.community, c.employer,
		c.applied, c.statusSince, c.updated}
	if c.cardNo == nil {
		cards[0] = []string{}
	}
	return holders, cards, nil
}
