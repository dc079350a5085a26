package analytics_test

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/projections"
)

// fakeProvince is the provincial card database holding cards of other
// cities, by ID number.
type fakeProvince struct {
	cards map[string][]commands.ProvinceCard
}

func (f *fakeProvince) Cards(_ context.Context, idNumber string) ([]commands.ProvinceCard, error) {
	return f.cards[idNumber], nil
}

func (f *fakeProvince) Transfer(_ context.Context, idNumber, cardNo, region string) (commands.ProvinceCard, error) {
	for i, c := range f.cards[idNumber] {
		if c.CardNo == cardNo {
			c.TransferredFrom, c.Region = c.Region, region
			f.cards[idNumber][i] = c
			return c, nil
		}
	}
	return commands.ProvinceCard{}, &commands.ProvinceRefusal{Status: 404, Code: commands.CodeProvinceCardNotFoundRaw}
}

func (f *fakeProvince) CancelRecord(context.Context, string, string, string) error { return nil }

func (f *fakeProvince) Upload(context.Context, []commands.ProvinceCard) ([]commands.UploadRejection, error) {
	return nil, nil
}

// transferIn has the province hold an active card of fromRegion for p and
// transfers it in at the clock's time.
func (s *system) transferIn(province *fakeProvince, p person, cardNo, fromRegion string) {
	s.t.Helper()
	province.cards[p.idNumber] = append(province.cards[p.idNumber], commands.ProvinceCard{IDNumber: p.idNumber,
		ProvincialCard: domain.ProvincialCard{CardNo: cardNo, Region: fromRegion, Status: domain.StatusActive,
			IssuedOn: "2020-05-06", Generation: domain.GenerationThird}})
	res, err := s.svc.Province.TransferIn(context.Background(), commands.TransferIn{
		Envelope: commands.NewEnvelope(domain.Actor{Client: "test"}, "test"), CardholderID: p.id, CardNo: cardNo, Reason: "moved here",
	})
	if err != nil {
		s.t.Fatalf("transfer %s in: %v", cardNo, err)
	}
	s.wrote(res.Position)
}

// use is one medical settlement of card in region at (China time).
func use(id, card, region, at, amount string) domain.UsageInput {
	return domain.UsageInput{ID: id, CardNo: card, At: at + "+08:00", Kind: string(domain.UsageMedicalSettlement),
		Amount: amount, RegionCode: region, Merchant: "医院", Category: "medical_treatment", Channel: string(domain.ChannelCard)}
}

// attribution is whom and which home city usage_facts credits a record to.
func (s *system) attribution(recordID string) (holder string, homeCity uint32) {
	s.t.Helper()
	if err := s.ch.QueryRow(context.Background(), `SELECT holder, home_city FROM usage_facts WHERE record_id = ?`,
		recordID).Scan(&holder, &homeCity); err != nil {
		s.t.Fatalf("usage row %s: %v", recordID, err)
	}
	return holder, homeCity
}

// lifecycleMonth is the Lifecycle analysis of one month of the test period.
func lifecycleMonth(t *testing.T, a analysesOf, month string) analytics.LifecycleMonth {
	t.Helper()
	i := slices.IndexFunc(a.Lifecycle, func(l analytics.LifecycleMonth) bool { return l.Month == month })
	if i < 0 {
		t.Fatalf("no lifecycle row for %s in %+v", month, a.Lifecycle)
	}
	return a.Lifecycle[i]
}

// projectedRows is every row of the projection's tables, sorted, as text.
func (s *system) projectedRows(ctx context.Context) []string {
	s.t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT 'usage', toString(event_id), record_id, card_no, holder, toString(holder_key), toString(day),
			toString(home_city), toString(use_city), toString(amount_fen) FROM usage_facts`,
		`SELECT 'card_events', toString(event_id), toString(day), holder, card_no, event, detail, home_city,
			toString(blacklist_delta) FROM card_events`,
		`SELECT 'holders', holder, argMax(home_region, version), argMax(home_city, version) FROM holders GROUP BY holder`,
		`SELECT 'cards', card_no, argMax(holder, version) FROM cards GROUP BY card_no`,
	} {
		rows, err := s.ch.Query(ctx, q)
		if err != nil {
			s.t.Fatal(err)
		}
		cols := len(rows.Columns())
		for rows.Next() {
			vals := make([]string, cols)
			ptrs := make([]any, cols)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				s.t.Fatal(err)
			}
			out = append(out, strings.Join(vals, "|"))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			s.t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

// rebuildAgrees rebuilds the tables from the log and checks that they hold
// exactly the rows the live projection wrote.
func (s *system) rebuildAgrees(ctx context.Context) {
	s.t.Helper()
	live := s.projectedRows(ctx)
	if _, err := s.rebuildRunner(s.ch).RebuildWith(ctx, analytics.ProjectionName, projections.RebuildOptions{}); err != nil {
		s.t.Fatal(err)
	}
	rebuilt := s.projectedRows(ctx)
	if !reflect.DeepEqual(rebuilt, live) {
		s.t.Errorf("rebuilt rows differ from live ones:\nrebuilt %q\nlive    %q", rebuilt, live)
	}
}

// A card transferred in from another city (CardTransferredIn) is its
// holder's, used from the holder's city: usage is attributed to both, the
// transfer counts in the lifecycle, and a holder who had left (transfer
// out) is home again. A rebuild writes the same rows.
func TestTransferredInCardsUsageIsItsHoldersFromTheirCity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	s := newSystem(t)
	province := &fakeProvince{cards: map[string][]commands.ProvinceCard{}}
	s.svc.UseProvince(province)

	// 2025-01-02: a arrives without a card; b has one and leaves for 上海.
	a := s.registerOnly(31, "320505")
	b := s.register(32, "320506")
	s.clock.Set(time.Date(2025, 1, 10, 9, 0, 0, 0, domain.ChinaTime()))
	s.card(b.cardNo, domain.TransferOut{CardNo: b.cardNo, ToRegion: "310101", Reason: "moved"})
	s.ingest([]domain.UsageInput{use("ti-b-away", b.cardNo, "310104", "2025-01-20T10:00:00", "10.00")})
	s.project()
	if _, home := s.attribution("ti-b-away"); home != 310100 {
		t.Fatalf("b's use while away: home city %d, want 310100", home)
	}

	// 2025-02-03: a's card from 浦东 and b's new card from 上海 are transferred in.
	s.clock.Set(time.Date(2025, 2, 3, 9, 0, 0, 0, domain.ChinaTime()))
	s.transferIn(province, a, "S10000001", "310115")
	s.transferIn(province, b, "S10000002", "310101")
	s.ingest([]domain.UsageInput{
		use("ti-a-1", "S10000001", "320508", "2025-02-05T09:30:00", "12.50"),
		use("ti-a-2", "S10000001", "320505", "2025-02-06T09:30:00", "7.50"),
		use("ti-a-3", "S10000001", "310104", "2025-02-07T09:30:00", "100.00"),
		use("ti-b-1", "S10000002", "320506", "2025-02-08T09:30:00", "3.00"),
	})
	s.project()

	for id, want := range map[string]string{"ti-a-1": a.id, "ti-a-2": a.id, "ti-a-3": a.id, "ti-b-1": b.id} {
		if holder, home := s.attribution(id); holder != want || home != 320500 {
			t.Errorf("%s: holder %q, home city %d; want %q, 320500", id, holder, home, want)
		}
	}
	all := s.analyses(ctx)
	var feb []analytics.Flow
	for _, f := range all.Flows {
		if f.HomeRegion == "320500" {
			feb = append(feb, f)
		}
	}
	wantFlows := []analytics.Flow{
		{HomeRegion: "320500", UseRegion: "320500", Count: 3, Amount: "23.00"},
		{HomeRegion: "320500", UseRegion: "310100", Count: 1, Amount: "100.00"},
	}
	if !reflect.DeepEqual(feb, wantFlows) {
		t.Errorf("flows from 320500: %+v, want %+v", feb, wantFlows)
	}
	if jan := lifecycleMonth(t, all, "2025-01"); jan.TransferredOut != 1 || jan.TransferredIn != 0 {
		t.Errorf("2025-01: %d transferred out, %d in; want 1, 0", jan.TransferredOut, jan.TransferredIn)
	}
	if l := lifecycleMonth(t, all, "2025-02"); l.TransferredIn != 2 || l.TransferredOut != 0 || l.BlacklistAdded != 0 {
		t.Errorf("2025-02: %+v, want 2 transferred in, none out, none blacklisted", l)
	}
	rec := s.do(http.MethodGet, "/v1/analytics/lifecycle?from=2025-01-01&to=2025-02-28&format=csv", analystKey, nil)
	table, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil || len(table) != 3 {
		t.Fatalf("lifecycle CSV: %v, %q", err, table)
	}
	// The newer counts come last, after blacklist_size.
	if head, feb := table[0][len(table[0])-4:], table[2][len(table[2])-4:]; !slices.Equal(head,
		[]string{"blacklist_size", "transferred_in", "transferred_out", "migrated"}) || !slices.Equal(feb, []string{"0", "2", "0", "0"}) {
		t.Errorf("lifecycle CSV ends %q / %q", head, feb)
	}
	var detail, home, holder string
	if err := s.ch.QueryRow(ctx, `SELECT detail, home_city, holder FROM card_events
		WHERE event = 'transferred_in' AND card_no = 'S10000001'`).Scan(&detail, &home, &holder); err != nil {
		t.Fatal(err)
	}
	if detail != "310115" || home != "320500" || holder != a.id {
		t.Errorf("transferred_in fact: from %s, home %s, holder %s; want 310115, 320500, %s", detail, home, holder, a.id)
	}

	s.rebuildAgrees(ctx)
}

// A migrated holder's legacy card (LegacyCardRecorded) is theirs: its usage
// is attributed to them, the migration counts once per holder, and a
// legacy card recorded lost, temporarily lost or cancelled is on the
// blacklist from the migration on, counted once however it goes on (a
// temporary loss made formal), until it is unlocked. A rebuild writes the
// same rows.
func TestLegacyCardsAreAttributedCountedAndBlacklistedOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	s := newSystem(t)
	im, err := commands.NewLegacyImporter(s.svc)
	if err != nil {
		t.Fatal(err)
	}
	var file strings.Builder
	file.WriteString("卡号,姓名,身份证号码,发卡日期,卡状态,发卡机构,行政区划代码\n")
	for i, status := range []string{"正常", "挂失", "注销", "临时挂失"} {
		birth := time.Date(1970+i, 3, 4, 0, 0, 0, 0, time.UTC)
		fmt.Fprintf(&file, "L0000000%d,迁移%c,%s,2005-03-01,%s,苏州市社保中心,320505\n",
			i+1, '甲'+rune(i), seed.IDNumber("320505", birth, 40+i, domain.Male), status)
	}
	// 2025-01-02: the migration.
	rep, err := im.Import(ctx, "legacy.csv", []byte(file.String()), commands.NewEnvelope(domain.Actor{Client: "test"}, "cli"), nil)
	if err != nil || rep.Imported != 4 {
		t.Fatalf("import: %v, %+v", err, rep)
	}
	// The import reports no positions: the card commands and usage below
	// come later in the log, and project waits for them.
	holders := map[string]string{}
	for _, r := range rep.Rows {
		holders[r.CardNo] = r.CardholderID
	}
	// 2025-02-03: the temporary loss made formal; 2025-03-04: the lost card found.
	s.clock.Set(time.Date(2025, 2, 3, 9, 0, 0, 0, domain.ChinaTime()))
	s.card("L00000004", domain.ReportLoss{CardNo: "L00000004", Reason: "not found"})
	s.clock.Set(time.Date(2025, 3, 4, 9, 0, 0, 0, domain.ChinaTime()))
	s.card("L00000002", domain.UnlockCard{CardNo: "L00000002", Reason: "found"})
	s.ingest([]domain.UsageInput{use("lg-1", "L00000001", "320508", "2025-01-15T10:00:00", "20.00")})
	s.project()

	if holder, home := s.attribution("lg-1"); holder != holders["L00000001"] || holder == "" || home != 320500 {
		t.Errorf("legacy card use: holder %q, home city %d; want %q, 320500", holder, home, holders["L00000001"])
	}
	all := s.analyses(ctx)
	want := map[string][4]int64{ // migrated, blacklist added, removed, size
		"2024-12": {0, 0, 0, 0}, "2025-01": {4, 3, 0, 3}, "2025-02": {0, 0, 0, 3}, "2025-03": {0, 0, 1, 2},
	}
	for month, w := range want {
		l := lifecycleMonth(t, all, month)
		got := [4]int64{int64(l.Migrated), int64(l.BlacklistAdded), int64(l.BlacklistRemoved), l.BlacklistSize}
		if got != w {
			t.Errorf("%s: migrated, blacklist added, removed, size = %v; want %v", month, got, w)
		}
	}
	if jan := lifecycleMonth(t, all, "2025-01"); jan.Registered != 4 || jan.Lost != 0 || jan.Cancelled != 0 {
		t.Errorf("2025-01: %d registered, %d lost, %d cancelled; want 4, 0, 0", jan.Registered, jan.Lost, jan.Cancelled)
	}
	if feb := lifecycleMonth(t, all, "2025-02"); feb.Lost != 1 {
		t.Errorf("2025-02: %d lost, want 1", feb.Lost)
	}
	var generations []string
	rows, err := s.ch.Query(ctx, `SELECT detail FROM card_events WHERE event = 'migrated' ORDER BY card_no`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		generations = append(generations, g)
	}
	rows.Close()
	if want := []string{"first", "first", "first", "first"}; !reflect.DeepEqual(generations, want) {
		t.Errorf("migrated facts' generations %v, want %v", generations, want)
	}

	s.rebuildAgrees(ctx)
}
