package analytics

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Rows are buffered column by column and sent with columnar appends, which
// the driver encodes ~25% faster than row appends. The column lists below
// are explicit on purpose: 18.16 cannot infer them (see the shared notes).

const usageColumns = `(event_id, pos_commit, pos_prepare, record_id, card_no, holder,
	holder_key, day, at, hour, kind, channel, amount_fen, use_region, use_city, home_city, merchant, category)`

// usageRows holds usage_facts rows as columns.
type usageRows struct {
	eventID                      []uuid.UUID
	posCommit, posPrepare        []uint64
	recordID, cardNo, holder     []string
	holderKey                    []uint64
	day, at                      []time.Time
	hour                         []uint8
	kind, channel                []int8
	amountFen                    []int64
	useRegion, useCity, homeCity []uint32
	merchant, category           []string
}

func (r *usageRows) len() int { return len(r.eventID) }

func (r *usageRows) reset() {
	*r = usageRows{
		eventID: r.eventID[:0], posCommit: r.posCommit[:0], posPrepare: r.posPrepare[:0],
		recordID: r.recordID[:0], cardNo: r.cardNo[:0], holder: r.holder[:0], holderKey: r.holderKey[:0],
		day: r.day[:0], at: r.at[:0], hour: r.hour[:0], kind: r.kind[:0], channel: r.channel[:0],
		amountFen: r.amountFen[:0], useRegion: r.useRegion[:0], useCity: r.useCity[:0],
		homeCity: r.homeCity[:0], merchant: r.merchant[:0], category: r.category[:0],
	}
}

// usageFact is a usage event as the projection reads it: the payload of
// domain.UsageRecorded with the amount as integer fen. Decoding into this
// (strings, no big-number decimal) is what keeps the projection near the
// speed of a bulk insert.
type usageFact struct {
	RecordID   string    `json:"record_id"`
	CardNo     string    `json:"card_no"`
	At         time.Time `json:"at"`
	Kind       string    `json:"kind"`
	Amount     string    `json:"amount"`
	RegionCode string    `json:"region_code"`
	Merchant   string    `json:"merchant"`
	Category   string    `json:"category"`
	Channel    string    `json:"channel"`
	fen        int64
}

func factOf(u domain.UsageRecorded) usageFact {
	return usageFact{RecordID: u.RecordID, CardNo: u.CardNo, At: u.At, Kind: string(u.Kind),
		RegionCode: u.RegionCode, Merchant: u.Merchant, Category: u.Category, Channel: string(u.Channel),
		fen: u.Amount.Shift(2).IntPart()}
}

// parseFen reads a non-negative yuan amount with at most two decimals
// ("12", "12.5", "12.50") as fen, without big-number arithmetic.
func parseFen(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) > 2 || whole == "" {
		return 0, fmt.Errorf("amount %q is not yuan with at most two decimals", s)
	}
	frac += "00"[len(frac):]
	var fen int64
	for _, c := range whole + frac {
		if c < '0' || c > '9' || fen > (1<<62)/10 {
			return 0, fmt.Errorf("amount %q is not yuan with at most two decimals", s)
		}
		fen = fen*10 + int64(c-'0')
	}
	return fen, nil
}

// add appends one usage fact. holder and homeCity are "" when the card is
// not (yet) known to the projection.
func (r *usageRows) add(id uuid.UUID, pos eventstore.Position, u usageFact, holder, homeCity string) {
	local := u.At.In(domain.ChinaTime())
	y, m, d := local.Date()
	r.eventID = append(r.eventID, id)
	r.posCommit = append(r.posCommit, pos.Commit)
	r.posPrepare = append(r.posPrepare, pos.Prepare)
	r.recordID = append(r.recordID, u.RecordID)
	r.cardNo = append(r.cardNo, u.CardNo)
	r.holder = append(r.holder, holder)
	r.holderKey = append(r.holderKey, HolderKey(holder))
	r.day = append(r.day, time.Date(y, m, d, 0, 0, 0, 0, time.UTC))
	r.at = append(r.at, u.At.UTC())
	r.hour = append(r.hour, uint8(local.Hour()))
	r.kind = append(r.kind, kindCode(domain.UsageKind(u.Kind)))
	r.channel = append(r.channel, channelCode(domain.UsageChannel(u.Channel)))
	r.amountFen = append(r.amountFen, u.fen)
	r.useRegion = append(r.useRegion, regionNumber(u.RegionCode))
	r.useCity = append(r.useCity, regionNumber(domain.PrefectureOf(u.RegionCode)))
	r.homeCity = append(r.homeCity, regionNumber(homeCity))
	r.merchant = append(r.merchant, u.Merchant)
	r.category = append(r.category, u.Category)
}

// send inserts the rows into table (usage_facts, or its rebuild copy).
func (r *usageRows) send(ctx context.Context, conn driver.Conn, table string) error {
	if r.len() == 0 {
		return nil
	}
	return sendColumns(ctx, conn, "INSERT INTO "+table+" "+usageColumns, r.eventID, r.posCommit, r.posPrepare, r.recordID, r.cardNo,
		r.holder, r.holderKey, r.day, r.at, r.hour, r.kind, r.channel, r.amountFen, r.useRegion, r.useCity, r.homeCity,
		r.merchant, r.category)
}

// HolderKey is the usage_facts.holder_key of a cardholder id: 64-bit
// FNV-1a, 0 for an unknown holder. Over a city's few million people a
// collision is improbable (about 1 in 10^6 for 5 million ids), and it would
// only merge two people in distinct-people counts.
func HolderKey(holder string) uint64 {
	if holder == "" {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(holder))
	return h.Sum64()
}

// regionNumber stores a 6-digit region code as a number; "" (unknown) is 0.
func regionNumber(code string) uint32 {
	n, err := strconv.ParseUint(code, 10, 32)
	if err != nil {
		return 0
	}
	return uint32(n)
}

// regionText is the inverse of regionNumber.
func regionText(n uint32) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(uint64(n), 10)
}

// kindCode and channelCode are the Enum8 values of the migration's enums:
// position in the domain's list, from 1.
func kindCode(k domain.UsageKind) int8 {
	switch k {
	case domain.UsageMedicalSettlement:
		return 1
	case domain.UsagePharmacyPurchase:
		return 2
	case domain.UsageIdentityAuth:
		return 3
	case domain.UsageRightsQuery:
		return 4
	case domain.UsageTransit:
		return 5
	}
	return 6 // other; ParseUsage lets no unknown kind through
}

func channelCode(c domain.UsageChannel) int8 {
	switch c {
	case domain.ChannelECardQR:
		return 2
	case domain.ChannelOnline:
		return 3
	}
	return 1
}

const cardEventColumns = `(event_id, pos_commit, pos_prepare, day, at, holder, card_no,
	event, detail, home_city, blacklist_delta)`

// cardEventRows holds card_events rows as columns.
type cardEventRows struct {
	eventID                             []uuid.UUID
	posCommit, posPrepare               []uint64
	day, at                             []time.Time
	holder, cardNo, event, detail, home []string
	delta                               []int8
}

func (r *cardEventRows) len() int { return len(r.eventID) }

func (r *cardEventRows) reset() {
	*r = cardEventRows{
		eventID: r.eventID[:0], posCommit: r.posCommit[:0], posPrepare: r.posPrepare[:0],
		day: r.day[:0], at: r.at[:0], holder: r.holder[:0], cardNo: r.cardNo[:0],
		event: r.event[:0], detail: r.detail[:0], home: r.home[:0], delta: r.delta[:0],
	}
}

func (r *cardEventRows) add(ev eventstore.RecordedEvent, day, at time.Time, f lifecycleFact) {
	r.eventID = append(r.eventID, ev.ID)
	r.posCommit = append(r.posCommit, ev.Position.Commit)
	r.posPrepare = append(r.posPrepare, ev.Position.Prepare)
	r.day = append(r.day, day)
	r.at = append(r.at, at)
	r.holder = append(r.holder, f.holder)
	r.cardNo = append(r.cardNo, f.cardNo)
	r.event = append(r.event, f.event)
	r.detail = append(r.detail, f.detail)
	r.home = append(r.home, f.homeCity)
	r.delta = append(r.delta, f.blacklistDelta)
}

// send inserts the rows into table (card_events, or its rebuild copy).
func (r *cardEventRows) send(ctx context.Context, conn driver.Conn, table string) error {
	if r.len() == 0 {
		return nil
	}
	return sendColumns(ctx, conn, "INSERT INTO "+table+" "+cardEventColumns, r.eventID, r.posCommit, r.posPrepare, r.day, r.at,
		r.holder, r.cardNo, r.event, r.detail, r.home, r.delta)
}

// sendColumns inserts one block whose columns are given in the order of the
// INSERT's column list.
func sendColumns(ctx context.Context, conn driver.Conn, insert string, columns ...any) error {
	b, err := conn.PrepareBatch(ctx, insert)
	if err != nil {
		return fmt.Errorf("prepare %s: %w", tableOf(insert), err)
	}
	for i, col := range columns {
		if err := b.Column(i).Append(col); err != nil {
			_ = b.Abort()
			return fmt.Errorf("append column %d of %s: %w", i, tableOf(insert), err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("insert into %s: %w", tableOf(insert), err)
	}
	return nil
}

func tableOf(insert string) string {
	var table string
	fmt.Sscanf(insert, "INSERT INTO %s", &table)
	return table
}
