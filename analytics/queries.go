package analytics

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/cardledger/cardledger/domain"
)

// Window is a range of China calendar days, both ends included.
type Window struct {
	From, To time.Time // dates (midnight UTC of the civil date)
}

func (w Window) from() string { return w.From.Format(time.DateOnly) }
func (w Window) to() string   { return w.To.Format(time.DateOnly) }

// months lists the months the window touches, as "2006-01".
func (w Window) months() []string {
	var out []string
	for m := time.Date(w.From.Year(), w.From.Month(), 1, 0, 0, 0, 0, time.UTC); !m.After(w.To); m = m.AddDate(0, 1, 0) {
		out = append(out, m.Format("2006-01"))
	}
	return out
}

// inWindow is the day filter every fact query shares; it prunes partitions.
const inWindow = `day >= toDate(?) AND day <= toDate(?)`

// Queries runs the analyses. Fact tables are read without FINAL: the
// projection guarantees one row per event (see the package doc).
type Queries struct {
	conn driver.Conn
}

// NewQueries returns the analyses over conn's database.
func NewQueries(conn driver.Conn) *Queries { return &Queries{conn: conn} }

// money turns ClickHouse's text of an amount in fen (an integer) into yuan
// as fixed two-place text.
func money(s string) (string, error) {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return "", fmt.Errorf("amount %q: %w", s, err)
	}
	return d.Shift(-2).StringFixed(2), nil
}

// Flow is one cell of the home city → city of use matrix. Amounts are yuan
// as exact decimal text with two places.
type Flow struct {
	HomeRegion string `json:"home_region"`
	UseRegion  string `json:"use_region"`
	Count      uint64 `json:"count"`
	Amount     string `json:"amount"`
}

// Flows counts uses and sums amounts per (home city, city of use), both
// prefecture codes; cells with home == use are local use. Ordered by count,
// largest first.
func (q *Queries) Flows(ctx context.Context, w Window) ([]Flow, error) {
	rows, err := q.conn.Query(ctx, `SELECT home_city, use_city, count() AS n, toString(sum(amount_fen))
		FROM usage_facts WHERE `+inWindow+`
		GROUP BY home_city, use_city ORDER BY n DESC, home_city, use_city`, w.from(), w.to())
	if err != nil {
		return nil, fmt.Errorf("flows: %w", err)
	}
	defer rows.Close()
	out := []Flow{}
	for rows.Next() {
		var f Flow
		var amount string
		var home, use uint32
		if err := rows.Scan(&home, &use, &f.Count, &amount); err != nil {
			return nil, fmt.Errorf("flows: %w", err)
		}
		f.HomeRegion, f.UseRegion = regionText(home), regionText(use)
		if f.Amount, err = money(amount); err != nil {
			return nil, fmt.Errorf("flows: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// SpendingMonth is one month of city-wide spending: local is spent in the
// card's home city, remote elsewhere. Count is the number of paying uses
// (amount > 0) in the month.
type SpendingMonth struct {
	Month        string `json:"month"`
	LocalAmount  string `json:"local_amount"`
	RemoteAmount string `json:"remote_amount"`
	Count        uint64 `json:"count"`
}

// Spending returns one row per month of the window, months without use
// included with zeros.
func (q *Queries) Spending(ctx context.Context, w Window) ([]SpendingMonth, error) {
	rows, err := q.conn.Query(ctx, `SELECT toString(toYYYYMM(day)) AS m,
			toString(sumIf(amount_fen, use_city = home_city)), toString(sumIf(amount_fen, use_city != home_city)),
			countIf(amount_fen > 0)
		FROM usage_facts WHERE `+inWindow+` GROUP BY m ORDER BY m`, w.from(), w.to())
	if err != nil {
		return nil, fmt.Errorf("spending: %w", err)
	}
	defer rows.Close()
	byMonth := map[string]SpendingMonth{}
	for rows.Next() {
		var s SpendingMonth
		var yyyymm, local, remote string
		if err := rows.Scan(&yyyymm, &local, &remote, &s.Count); err != nil {
			return nil, fmt.Errorf("spending: %w", err)
		}
		s.Month = yyyymm[:4] + "-" + yyyymm[4:]
		if s.LocalAmount, err = money(local); err != nil {
			return nil, fmt.Errorf("spending: %w", err)
		}
		if s.RemoteAmount, err = money(remote); err != nil {
			return nil, fmt.Errorf("spending: %w", err)
		}
		byMonth[s.Month] = s
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("spending: %w", err)
	}
	out := []SpendingMonth{}
	for _, m := range w.months() {
		s, ok := byMonth[m]
		if !ok {
			s = SpendingMonth{Month: m, LocalAmount: "0.00", RemoteAmount: "0.00"}
		}
		out = append(out, s)
	}
	return out, nil
}

// Category is one spending category.
type Category struct {
	Category string `json:"category"`
	Count    uint64 `json:"count"`
	Amount   string `json:"amount"`
}

// Categories returns the categories with the largest amounts, at most limit.
func (q *Queries) Categories(ctx context.Context, w Window, limit int) ([]Category, error) {
	rows, err := q.conn.Query(ctx, `SELECT category, count(), toString(sum(amount_fen)) AS s
		FROM usage_facts WHERE `+inWindow+`
		GROUP BY category ORDER BY sum(amount_fen) DESC, category LIMIT ?`, w.from(), w.to(), limit)
	if err != nil {
		return nil, fmt.Errorf("categories: %w", err)
	}
	defer rows.Close()
	out := []Category{}
	for rows.Next() {
		var c Category
		var amount string
		if err := rows.Scan(&c.Category, &c.Count, &amount); err != nil {
			return nil, fmt.Errorf("categories: %w", err)
		}
		if c.Amount, err = money(amount); err != nil {
			return nil, fmt.Errorf("categories: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// KindStats is the use of one kind.
type KindStats struct {
	Kind   string `json:"kind"`
	Count  uint64 `json:"count"`
	Amount string `json:"amount"`
}

// PersonStats is one cardholder's use.
type PersonStats struct {
	CardholderID  string `json:"cardholder_id"`
	Count         uint64 `json:"count"`
	Amount        string `json:"amount"`
	IdentityAuths uint64 `json:"identity_auths"`
	RightsQueries uint64 `json:"rights_queries"`
}

// UsageStats are the usage totals of a window.
type UsageStats struct {
	Count         uint64      `json:"count"`
	Amount        string      `json:"amount"`
	People        uint64      `json:"people"` // distinct cardholders who used a card
	IdentityAuths uint64      `json:"identity_auths"`
	RightsQueries uint64      `json:"rights_queries"`
	PerPerson     PerPerson   `json:"per_person"`
	ByKind        []KindStats `json:"by_kind"`
}

// PerPerson are averages over the people who used a card in the window.
type PerPerson struct {
	Count  string `json:"count"`  // uses per person, two places
	Amount string `json:"amount"` // yuan per person, two places
}

// Stats returns totals, counts and amounts by kind, and averages per person.
func (q *Queries) Stats(ctx context.Context, w Window) (UsageStats, error) {
	s := UsageStats{ByKind: []KindStats{}}
	var amount string
	// One scan for the kinds, the totals row for the whole window.
	rows, err := q.conn.Query(ctx, `SELECT toString(kind) AS k, count(), toString(sum(amount_fen))
		FROM usage_facts WHERE `+inWindow+` GROUP BY k WITH TOTALS ORDER BY k`, w.from(), w.to())
	if err != nil {
		return s, fmt.Errorf("usage stats by kind: %w", err)
	}
	byKind := map[string]KindStats{}
	for rows.Next() {
		var k KindStats
		if err := rows.Scan(&k.Kind, &k.Count, &amount); err != nil {
			rows.Close()
			return s, fmt.Errorf("usage stats by kind: %w", err)
		}
		if k.Amount, err = money(amount); err != nil {
			rows.Close()
			return s, err
		}
		byKind[k.Kind] = k
	}
	var kindless string
	amount = "0" // an empty window may send no totals row
	if err := rows.Totals(&kindless, &s.Count, &amount); err != nil {
		rows.Close()
		return s, fmt.Errorf("usage stats totals: %w", err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("usage stats by kind: %w", err)
	}
	if s.Amount, err = money(amount); err != nil {
		return s, fmt.Errorf("usage stats: %w", err)
	}
	if err := q.conn.QueryRow(ctx, `SELECT uniqExact(holder_key) FROM usage_facts WHERE `+inWindow,
		w.from(), w.to()).Scan(&s.People); err != nil {
		return s, fmt.Errorf("usage stats people: %w", err)
	}
	s.IdentityAuths = byKind[string(domain.UsageIdentityAuth)].Count
	s.RightsQueries = byKind[string(domain.UsageRightsQuery)].Count
	s.PerPerson = PerPerson{Count: "0.00", Amount: "0.00"}
	if s.People > 0 {
		people := decimal.NewFromInt(int64(s.People))
		s.PerPerson.Count = decimal.NewFromInt(int64(s.Count)).DivRound(people, 2).StringFixed(2)
		s.PerPerson.Amount = decimal.RequireFromString(s.Amount).DivRound(people, 2).StringFixed(2)
	}
	for _, kind := range domain.UsageKinds() {
		k, ok := byKind[string(kind)]
		if !ok {
			k = KindStats{Kind: string(kind), Amount: "0.00"}
		}
		s.ByKind = append(s.ByKind, k)
	}
	return s, nil
}

// TopPeople returns the people with the most uses in the window (at most
// top), with their amounts and identity-authentication and rights-query
// counts. It groups by the integer holder key and reads the details of the
// top people only.
//
// regionPrefix, when not "", keeps only people whose home region (latest
// holders row) starts with it: a county analyst's list.
func (q *Queries) TopPeople(ctx context.Context, w Window, top int, regionPrefix string) ([]PersonStats, error) {
	inRegion := ""
	args := []any{w.from(), w.to()}
	if regionPrefix != "" {
		// GLOBAL: on a cluster the subquery runs once, on the server asked,
		// not on every shard against every shard (18.16 refuses that);
		// on one server it is a plain IN.
		inRegion = ` AND holder GLOBAL IN (SELECT holder FROM holders FINAL WHERE startsWith(home_region, ?))`
		args = append(args, regionPrefix)
	}
	rows, err := q.conn.Query(ctx, `SELECT holder_key, count() AS n FROM usage_facts WHERE `+inWindow+inRegion+`
		GROUP BY holder_key ORDER BY n DESC, holder_key LIMIT ?`, append(args, top)...)
	if err != nil {
		return nil, fmt.Errorf("top people: %w", err)
	}
	var keys []uint64
	for rows.Next() {
		var key, n uint64
		if err := rows.Scan(&key, &n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("top people: %w", err)
		}
		keys = append(keys, key)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(keys) == 0 {
		return []PersonStats{}, err
	}
	list := make([]string, len(keys))
	for i, k := range keys {
		list[i] = strconv.FormatUint(k, 10) // numbers we read: safe to inline
	}
	rows, err = q.conn.Query(ctx, `SELECT holder_key, any(holder), count(), toString(sum(amount_fen)),
			countIf(kind = 'identity_auth'), countIf(kind = 'rights_query')
		FROM usage_facts WHERE holder_key IN (`+strings.Join(list, ", ")+`) AND `+inWindow+`
		GROUP BY holder_key`, w.from(), w.to())
	if err != nil {
		return nil, fmt.Errorf("top people details: %w", err)
	}
	defer rows.Close()
	byKey := map[uint64]PersonStats{}
	for rows.Next() {
		var key uint64
		var p PersonStats
		var amount string
		if err := rows.Scan(&key, &p.CardholderID, &p.Count, &amount, &p.IdentityAuths, &p.RightsQueries); err != nil {
			return nil, fmt.Errorf("top people details: %w", err)
		}
		if p.Amount, err = money(amount); err != nil {
			return nil, err
		}
		byKey[key] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("top people details: %w", err)
	}
	out := make([]PersonStats, 0, len(keys))
	for _, k := range keys {
		out = append(out, byKey[k])
	}
	return out, nil
}

// CrossRegion is how often cards of one home city are used elsewhere.
type CrossRegion struct {
	HomeRegion   string `json:"home_region"`
	Count        uint64 `json:"count"`
	RemoteCount  uint64 `json:"remote_count"`
	RemoteShare  string `json:"remote_share"` // remote_count / count, four places
	RemoteAmount string `json:"remote_amount"`
	RemotePeople uint64 `json:"remote_people"` // people with at least one remote use
}

// CrossRegionUse returns one row per home city, ordered by remote uses,
// most first.
func (q *Queries) CrossRegionUse(ctx context.Context, w Window) ([]CrossRegion, error) {
	rows, err := q.conn.Query(ctx, `SELECT home_city, count(), countIf(use_city != home_city) AS r,
			toString(sumIf(amount_fen, use_city != home_city)), uniqExactIf(holder_key, use_city != home_city)
		FROM usage_facts WHERE `+inWindow+`
		GROUP BY home_city ORDER BY r DESC, home_city`, w.from(), w.to())
	if err != nil {
		return nil, fmt.Errorf("cross-region use: %w", err)
	}
	defer rows.Close()
	out := []CrossRegion{}
	for rows.Next() {
		var c CrossRegion
		var amount string
		var home uint32
		if err := rows.Scan(&home, &c.Count, &c.RemoteCount, &amount, &c.RemotePeople); err != nil {
			return nil, fmt.Errorf("cross-region use: %w", err)
		}
		if c.RemoteAmount, err = money(amount); err != nil {
			return nil, err
		}
		c.HomeRegion = regionText(home)
		c.RemoteShare = share(c.RemoteCount, c.Count)
		out = append(out, c)
	}
	return out, rows.Err()
}

func share(part, whole uint64) string {
	if whole == 0 {
		return "0.0000"
	}
	return decimal.NewFromInt(int64(part)).DivRound(decimal.NewFromInt(int64(whole)), 4).StringFixed(4)
}

// Use is one entry of a person's card-use history.
type Use struct {
	At         time.Time `json:"at"`
	RecordID   string    `json:"record_id"`
	CardNo     string    `json:"card_no"`
	Kind       string    `json:"kind"`
	Channel    string    `json:"channel"`
	Amount     string    `json:"amount"`
	RegionCode string    `json:"region_code"`
	Merchant   string    `json:"merchant"`
	Category   string    `json:"category"`
	Remote     bool      `json:"remote"` // outside the card's home city
}

// Person selects whose history to read: a cardholder id (all their cards)
// or one card number.
type Person struct {
	CardholderID string
	CardNo       string
}

// personFilter selects the cards of p; the card_no sort key makes it a
// range read.
func (p Person) filter() (string, string) {
	if p.CardNo != "" {
		return `card_no = ?`, p.CardNo
	}
	return `card_no GLOBAL IN (SELECT card_no FROM cards WHERE holder = ?)`, p.CardholderID
}

// HomeRegion returns the home region of the person p names (for a card,
// its holder's), "" when the projection does not know them.
func (q *Queries) HomeRegion(ctx context.Context, p Person) (string, error) {
	holder, arg := `holder = ?`, p.CardholderID
	if p.CardNo != "" {
		holder, arg = `holder = (SELECT argMax(holder, version) FROM cards WHERE card_no = ?)`, p.CardNo
	}
	var region string
	if err := q.conn.QueryRow(ctx, `SELECT argMax(home_region, version) FROM holders WHERE `+holder, arg).Scan(&region); err != nil {
		return "", fmt.Errorf("home region: %w", err)
	}
	return region, nil
}

// History returns a person's uses in time order, at most limit.
func (q *Queries) History(ctx context.Context, p Person, w Window, limit int) ([]Use, error) {
	cond, arg := p.filter()
	rows, err := q.conn.Query(ctx, `SELECT at, record_id, card_no, toString(kind), toString(channel), toString(amount_fen),
			toString(use_region), merchant, category, use_city != home_city
		FROM usage_facts WHERE `+cond+` AND `+inWindow+`
		ORDER BY at, record_id LIMIT ?`, arg, w.from(), w.to(), limit)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	defer rows.Close()
	out := []Use{}
	for rows.Next() {
		var u Use
		var amount string
		var remote uint8
		if err := rows.Scan(&u.At, &u.RecordID, &u.CardNo, &u.Kind, &u.Channel, &amount, &u.RegionCode,
			&u.Merchant, &u.Category, &remote); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		if u.Amount, err = money(amount); err != nil {
			return nil, err
		}
		u.At, u.Remote = u.At.UTC(), remote == 1
		out = append(out, u)
	}
	return out, rows.Err()
}

// Share is one value of a profile dimension.
type Share struct {
	Key    string `json:"key"`
	Count  uint64 `json:"count"`
	Amount string `json:"amount"`
}

// Profile describes how a person uses their card in a window.
type Profile struct {
	Count       uint64   `json:"count"`
	Amount      string   `json:"amount"`
	RemoteCount uint64   `json:"remote_count"`
	Channels    []Share  `json:"channels"`
	Kinds       []Share  `json:"kinds"`
	Places      []Share  `json:"places"` // region codes, most used first, at most 10
	Categories  []Share  `json:"categories"`
	Hours       []uint64 `json:"hours"` // uses per hour of day (China time), 24 entries
}

// Profile returns a person's behaviour profile.
func (q *Queries) Profile(ctx context.Context, p Person, w Window) (Profile, error) {
	cond, arg := p.filter()
	pr := Profile{Hours: make([]uint64, 24)}
	var amount string
	err := q.conn.QueryRow(ctx, `SELECT count(), toString(sum(amount_fen)), countIf(use_city != home_city)
		FROM usage_facts WHERE `+cond+` AND `+inWindow, arg, w.from(), w.to()).Scan(&pr.Count, &amount, &pr.RemoteCount)
	if err != nil {
		return pr, fmt.Errorf("profile: %w", err)
	}
	if pr.Amount, err = money(amount); err != nil {
		return pr, err
	}
	dims := []struct {
		expr  string
		limit int
		into  *[]Share
	}{
		{"toString(channel)", 10, &pr.Channels},
		{"toString(kind)", 10, &pr.Kinds},
		{"toString(use_region)", 10, &pr.Places},
		{"category", 10, &pr.Categories},
	}
	for _, d := range dims {
		if *d.into, err = q.shares(ctx, d.expr, cond, arg, w, d.limit); err != nil {
			return pr, err
		}
	}
	rows, err := q.conn.Query(ctx, `SELECT hour, count() FROM usage_facts WHERE `+cond+` AND `+inWindow+` GROUP BY hour`,
		arg, w.from(), w.to())
	if err != nil {
		return pr, fmt.Errorf("profile hours: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var h uint8
		var n uint64
		if err := rows.Scan(&h, &n); err != nil {
			return pr, fmt.Errorf("profile hours: %w", err)
		}
		if h < 24 {
			pr.Hours[h] = n
		}
	}
	return pr, rows.Err()
}

func (q *Queries) shares(ctx context.Context, expr, cond, arg string, w Window, limit int) ([]Share, error) {
	rows, err := q.conn.Query(ctx, `SELECT `+expr+` AS key, count() AS n, toString(sum(amount_fen))
		FROM usage_facts WHERE `+cond+` AND `+inWindow+` GROUP BY key ORDER BY n DESC, key LIMIT ?`,
		arg, w.from(), w.to(), limit)
	if err != nil {
		return nil, fmt.Errorf("profile by %s: %w", expr, err)
	}
	defer rows.Close()
	out := []Share{}
	for rows.Next() {
		var s Share
		var amount string
		if err := rows.Scan(&s.Key, &s.Count, &amount); err != nil {
			return nil, fmt.Errorf("profile by %s: %w", expr, err)
		}
		if s.Amount, err = money(amount); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// LifecycleMonth counts card lifecycle facts of one month. BlacklistSize is
// the number of blacklisted cards at the end of the month.
type LifecycleMonth struct {
	Month           string `json:"month"`
	Registered      uint64 `json:"registered"`
	Applied         uint64 `json:"applied"`
	Issued          uint64 `json:"issued"`
	Lost            uint64 `json:"lost"`
	TemporarilyLost uint64 `json:"temporarily_lost"`
	Unlocked        uint64 `json:"unlocked"`
	Cancelled       uint64 `json:"cancelled"`
	Replacements    uint64 `json:"replacements"` // cancellations for a replacement card
	ECardsIssued    uint64 `json:"ecards_issued"`
	// TransferredIn are cards of other cities that became cards here
	// (地市卡转移), TransferredOut cards that left for another city.
	TransferredIn  uint64 `json:"transferred_in"`
	TransferredOut uint64 `json:"transferred_out"`
	// Migrated are people brought in with their legacy (first-generation)
	// card; they are counted in Registered too, and a legacy card recorded
	// lost or cancelled in BlacklistAdded (not in Lost or Cancelled: it
	// was not reported that month).
	Migrated         uint64 `json:"migrated"`
	BlacklistAdded   uint64 `json:"blacklist_added"`
	BlacklistRemoved uint64 `json:"blacklist_removed"`
	BlacklistSize    int64  `json:"blacklist_size"`
}

// Lifecycle returns issuance and blacklist figures per month of the window.
func (q *Queries) Lifecycle(ctx context.Context, w Window) ([]LifecycleMonth, error) {
	var before int64
	if err := q.conn.QueryRow(ctx, `SELECT toInt64(sum(blacklist_delta)) FROM card_events WHERE day < toDate(?)`,
		w.from()).Scan(&before); err != nil {
		return nil, fmt.Errorf("lifecycle: blacklist before window: %w", err)
	}
	rows, err := q.conn.Query(ctx, `SELECT toString(toYYYYMM(day)) AS m,
			countIf(event = 'registered'), countIf(event = 'applied'), countIf(event = 'issued'),
			countIf(event = 'lost'), countIf(event = 'temporarily_lost'), countIf(event = 'unlocked'),
			countIf(event = 'cancelled'), countIf(event = 'cancelled' AND detail = 'replacement'),
			countIf(event = 'ecard_issued'), countIf(event = 'transferred_in'), countIf(event = 'transferred_out'),
			countIf(event = 'migrated'), countIf(blacklist_delta > 0), countIf(blacklist_delta < 0)
		FROM card_events WHERE `+inWindow+` GROUP BY m ORDER BY m`, w.from(), w.to())
	if err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	defer rows.Close()
	byMonth := map[string]LifecycleMonth{}
	for rows.Next() {
		var l LifecycleMonth
		var yyyymm string
		if err := rows.Scan(&yyyymm, &l.Registered, &l.Applied, &l.Issued, &l.Lost, &l.TemporarilyLost,
			&l.Unlocked, &l.Cancelled, &l.Replacements, &l.ECardsIssued, &l.TransferredIn, &l.TransferredOut, &l.Migrated,
			&l.BlacklistAdded, &l.BlacklistRemoved); err != nil {
			return nil, fmt.Errorf("lifecycle: %w", err)
		}
		l.Month = yyyymm[:4] + "-" + yyyymm[4:]
		byMonth[l.Month] = l
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lifecycle: %w", err)
	}
	out := []LifecycleMonth{}
	size := before
	for _, m := range w.months() {
		l := byMonth[m]
		l.Month = m
		size += int64(l.BlacklistAdded) - int64(l.BlacklistRemoved)
		l.BlacklistSize = size
		out = append(out, l)
	}
	return out, nil
}
