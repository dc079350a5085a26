package bench

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Analytics load and query benchmarks, used by the analytics package's Go
// benchmarks. They write synthetic facts straight into the ClickHouse
// tables, so run them against a scratch database.

// LoadOptions shape the synthetic usage facts.
type LoadOptions struct {
	Rows   int       // usage rows to write
	Cards  int       // distinct cards (0: Rows/50, at least 1000)
	Months int       // months of history ending at End (0: 12)
	End    time.Time // zero: now
	Batch  int       // rows per insert (0: 100,000)
	Seed   uint64
}

func (o LoadOptions) withDefaults() LoadOptions {
	if o.Cards <= 0 {
		o.Cards = max(1000, o.Rows/50)
	}
	if o.Months <= 0 {
		o.Months = 12
	}
	if o.End.IsZero() {
		o.End = time.Now()
	}
	if o.Batch <= 0 {
		o.Batch = 100_000
	}
	return o
}

// LoadResult says how fast the rows went in.
type LoadResult struct {
	Rows       int
	Elapsed    time.Duration
	RowsPerSec float64
}

// synthetic draws usage facts: most cards from the demo city, used mostly
// at home, with the delta's big cities as the usual remote places.
type synthetic struct {
	rng          *rand.Rand
	cardNos      []string
	holderIDs    []string
	o            LoadOptions
	start        time.Time
	span         time.Duration
	homes        []string
	places       []string
	merchants    []string
	categories   []string
	categoryKind []domain.UsageKind
}

func newSynthetic(o LoadOptions) *synthetic {
	end := o.End.In(domain.ChinaTime())
	start := time.Date(end.Year(), end.Month(), 1, 0, 0, 0, 0, domain.ChinaTime()).AddDate(0, -(o.Months - 1), 0)
	s := &synthetic{rng: rand.New(rand.NewPCG(o.Seed, 77)), o: o, start: start, span: end.Sub(start),
		merchants:    []string{"苏州市立医院", "老百姓大药房", "轨道交通", "市民服务中心", "社区卫生服务中心"},
		categories:   []string{"medical_treatment", "drugs", "government_service", "government_service", "transit", "other"},
		categoryKind: domain.UsageKinds()}
	for i := 0; i < o.Cards; i++ {
		s.cardNos = append(s.cardNos, fmt.Sprintf("B%08d", i))
		s.holderIDs = append(s.holderIDs, fmt.Sprintf("h%08d", i))
	}
	for i := 0; i < 17; i++ {
		s.homes = append(s.homes, domain.DemoPrefecture)
	}
	s.homes = append(s.homes, "320100", "340100", "410100")
	for _, c := range domain.Counties(domain.DemoPrefecture) {
		s.places = append(s.places, c.Code)
	}
	s.places = append(s.places, "310104", "320102", "330106", "110105", "340104")
	return s
}

func (s *synthetic) homeOf(card int) string { return s.homes[card%len(s.homes)] }

func (s *synthetic) record(i int) (cardIdx int, u domain.UsageRecorded) {
	cardIdx = s.rng.IntN(s.o.Cards)
	k := s.rng.IntN(len(s.categoryKind))
	amount := decimal.New(s.rng.Int64N(30000), -2)
	if s.categoryKind[k] == domain.UsageIdentityAuth || s.categoryKind[k] == domain.UsageRightsQuery {
		amount = decimal.Zero
	}
	place := s.places[s.rng.IntN(len(s.places))]
	if home := s.homeOf(cardIdx); s.rng.IntN(10) < 7 && home != domain.DemoPrefecture {
		place = home
	}
	return cardIdx, domain.UsageRecorded{
		RecordID:   "bench-" + strconv.Itoa(i),
		CardNo:     s.cardNos[cardIdx],
		At:         s.start.Add(time.Duration(s.rng.Int64N(int64(s.span)))).Truncate(time.Second).UTC(),
		Kind:       s.categoryKind[k],
		Amount:     amount,
		RegionCode: place,
		Merchant:   s.merchants[s.rng.IntN(len(s.merchants))],
		Category:   s.categories[k],
		Channel:    domain.UsageChannels()[s.rng.IntN(3)],
	}
}

// LoadUsage writes o.Rows synthetic usage facts (and their cards and
// holders) with the projection's columnar writer, in o.Batch-row inserts.
func LoadUsage(ctx context.Context, conn driver.Conn, o LoadOptions, progress func(done int)) (LoadResult, error) {
	o = o.withDefaults()
	s := newSynthetic(o)
	if err := loadCards(ctx, conn, s); err != nil {
		return LoadResult{}, err
	}
	var rows analytics.UsageBlock
	started := time.Now()
	for done := 0; done < o.Rows; {
		rows.Reset()
		n := min(o.Batch, o.Rows-done)
		for i := 0; i < n; i++ {
			card, u := s.record(done + i)
			var id uuid.UUID
			binary.LittleEndian.PutUint64(id[:8], s.rng.Uint64())
			binary.LittleEndian.PutUint64(id[8:], s.rng.Uint64())
			rows.Add(id, eventstore.Position{Commit: 1, Prepare: uint64(done + i)}, u, s.holderIDs[card], s.homeOf(card))
		}
		if err := rows.Send(ctx, conn); err != nil {
			return LoadResult{}, err
		}
		done += n
		if progress != nil {
			progress(done)
		}
	}
	el := time.Since(started)
	return LoadResult{Rows: o.Rows, Elapsed: el, RowsPerSec: float64(o.Rows) / el.Seconds()}, nil
}

func loadCards(ctx context.Context, conn driver.Conn, s *synthetic) error {
	homes := make([]string, s.o.Cards)
	for i := range homes {
		homes[i] = s.homeOf(i)
	}
	return analytics.InsertDirectory(ctx, conn, s.cardNos[:s.o.Cards], s.holderIDs[:s.o.Cards], homes)
}

// QueryTiming is the latency of one analysis over repeated runs.
type QueryTiming struct {
	Name   string
	Runs   int
	Median time.Duration
	P99    time.Duration
}

// Queries runs every analysis runs times over the window of the last
// months months ending at end, and reports median and p99 latency. The
// person analyses pick a card that has uses.
func Queries(ctx context.Context, conn driver.Conn, months int, end time.Time, runs int) ([]QueryTiming, error) {
	q := analytics.NewQueries(conn)
	e := end.In(domain.ChinaTime())
	to := time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, time.UTC)
	w := analytics.Window{From: time.Date(e.Year(), e.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -(months - 1), 0), To: to}
	var card, holder string
	if err := conn.QueryRow(ctx, `SELECT card_no, holder FROM usage_facts LIMIT 1`).Scan(&card, &holder); err != nil {
		return nil, fmt.Errorf("pick a card: %w", err)
	}
	analyses := []struct {
		name string
		run  func() error
	}{
		{"flows", func() error { _, err := q.Flows(ctx, w); return err }},
		{"spending", func() error { _, err := q.Spending(ctx, w); return err }},
		{"categories", func() error { _, err := q.Categories(ctx, w, 20); return err }},
		{"usage-stats", func() error { _, err := q.Stats(ctx, w); return err }},
		{"top-people", func() error { _, err := q.TopPeople(ctx, w, 20, ""); return err }},
		{"cross-region", func() error { _, err := q.CrossRegionUse(ctx, w); return err }},
		{"lifecycle", func() error { _, err := q.Lifecycle(ctx, w); return err }},
		{"person-history", func() error { _, err := q.History(ctx, analytics.Person{CardholderID: holder}, w, 1000); return err }},
		{"person-profile", func() error { _, err := q.Profile(ctx, analytics.Person{CardholderID: holder}, w); return err }},
	}
	var out []QueryTiming
	for _, a := range analyses {
		times := make([]time.Duration, 0, runs)
		for i := 0; i < runs; i++ {
			t0 := time.Now()
			if err := a.run(); err != nil {
				return nil, fmt.Errorf("%s: %w", a.name, err)
			}
			times = append(times, time.Since(t0))
		}
		sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
		out = append(out, QueryTiming{Name: a.name, Runs: runs, Median: times[len(times)/2],
			P99: times[min(len(times)-1, int(float64(len(times))*0.99))]})
	}
	return out, nil
}

// InsertComparison puts the projection's ClickHouse writes next to
// clickhouse-client inserting the same rows as TSV, in the same run.
type InsertComparison struct {
	Rows              int
	ProjectionPerSec  float64 // Apply on UsageRecorded events: JSON decode, columns, insert, checkpoint
	ClientTSVPerSec   float64 // clickhouse-client --query "INSERT ... FORMAT TSV" < file
	ProjectionElapsed time.Duration
	ClientElapsed     time.Duration
}

// CompareInsert projects rows synthetic usage events through a fresh
// Projection in batches of batch events, then truncates usage_facts and
// inserts the same rows with clickhouse-client (client is its path; the
// server is the one chURL names). The database must be migrated and scratch.
func CompareInsert(ctx context.Context, conn driver.Conn, chURL, client string, rows, batch int) (InsertComparison, error) {
	o := LoadOptions{Rows: rows, Cards: 20000, Batch: batch}.withDefaults()
	s := newSynthetic(o)
	// Usage is reported shortly after it happens, so the log holds it in
	// roughly time order and a batch touches one or two monthly partitions.
	records := make([]domain.UsageRecorded, rows)
	for i := range records {
		_, records[i] = s.record(i)
	}
	sort.Slice(records, func(i, j int) bool { return records[i].At.Before(records[j].At) })
	events := make([]eventstore.RecordedEvent, 0, rows)
	for i, u := range records {
		data, err := json.Marshal(u)
		if err != nil {
			return InsertComparison{}, err
		}
		events = append(events, eventstore.RecordedEvent{
			Stream: domain.UsageStream(u.CardNo, u.At), ID: domain.UsageEventID(u.RecordID), Type: domain.UsageEventType,
			Data: data, Position: eventstore.Position{Commit: uint64(i + 1)}, RecordedAt: u.At,
		})
	}
	p := analytics.NewProjection(conn)
	if _, err := p.Recover(ctx); err != nil {
		return InsertComparison{}, err
	}
	started := time.Now()
	for lo := 0; lo < rows; lo += o.Batch {
		if err := p.Apply(ctx, events[lo:min(lo+o.Batch, rows)]); err != nil {
			return InsertComparison{}, err
		}
	}
	res := InsertComparison{Rows: rows, ProjectionElapsed: time.Since(started)}
	res.ProjectionPerSec = float64(rows) / res.ProjectionElapsed.Seconds()

	// The same rows, as the table holds them, written out as TSV.
	tsv, err := os.CreateTemp("", "usage-*.tsv")
	if err != nil {
		return res, err
	}
	defer os.Remove(tsv.Name())
	if err := exportTSV(ctx, conn, tsv); err != nil {
		return res, err
	}
	if err := conn.Exec(ctx, `TRUNCATE TABLE usage_facts`); err != nil {
		return res, fmt.Errorf("truncate: %w", err)
	}
	u, err := url.Parse(chURL)
	if err != nil {
		return res, err
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" {
		db = "default"
	}
	in, err := os.Open(tsv.Name())
	if err != nil {
		return res, err
	}
	defer in.Close()
	cmd := exec.CommandContext(ctx, client, "--host", u.Hostname(), "--port", u.Port(), "--database", db,
		"--query", `INSERT INTO usage_facts (`+strings.Join(analytics.UsageColumns(), ", ")+`) FORMAT TabSeparated`)
	cmd.Stdin = in
	started = time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return res, fmt.Errorf("clickhouse-client: %v: %s", err, out)
	}
	res.ClientElapsed = time.Since(started)
	res.ClientTSVPerSec = float64(rows) / res.ClientElapsed.Seconds()
	var n uint64
	if err := conn.QueryRow(ctx, `SELECT count() FROM usage_facts`).Scan(&n); err != nil || int(n) != rows {
		return res, fmt.Errorf("clickhouse-client wrote %d rows of %d (%v)", n, rows, err)
	}
	return res, nil
}

func exportTSV(ctx context.Context, conn driver.Conn, f *os.File) error {
	rows, err := conn.Query(ctx, `SELECT toString(event_id), pos_commit, pos_prepare, record_id, card_no, holder,
		holder_key, toString(day), toString(at), hour, toString(kind), toString(channel), toString(amount_fen),
		use_region, use_city, home_city, merchant, category FROM usage_facts`)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	var (
		id, rec, card, holder, day, at, kind, channel, amount, merchant, category string
		commit, prepare, holderKey                                                uint64
		region, city, home                                                        uint32
		hour                                                                      uint8
	)
	for rows.Next() {
		if err := rows.Scan(&id, &commit, &prepare, &rec, &card, &holder, &holderKey, &day, &at, &hour, &kind, &channel,
			&amount, &region, &city, &home, &merchant, &category); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\t%s\t%d\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", id, commit, prepare,
			rec, card, holder, holderKey, day, at, hour, kind, channel, amount, region, city, home, merchant, category)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return w.Flush()
}
