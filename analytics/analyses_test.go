package analytics_test

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// usageRegions are where the test's cards are used: 苏州 (two counties),
// 南京, 上海, 合肥, 杭州 and 北京.
var usageRegions = []string{"320505", "320583", "320102", "310104", "340104", "330106", "110105"}

var categoryOfKind = map[domain.UsageKind][]string{
	domain.UsageMedicalSettlement: {"medical_treatment", "examination", "hospitalization"},
	domain.UsagePharmacyPurchase:  {"drugs"},
	domain.UsageIdentityAuth:      {"government_service"},
	domain.UsageRightsQuery:       {"government_service"},
	domain.UsageTransit:           {"transit"},
	domain.UsageOther:             {"other"},
}

// randomUsage makes n records for cards, between 2024-12-20 and 2025-03-31.
func randomUsage(rng *rand.Rand, prefix string, n int, cards []string) []domain.UsageInput {
	start := time.Date(2024, 12, 20, 0, 0, 0, 0, domain.ChinaTime())
	span := time.Date(2025, 3, 31, 22, 0, 0, 0, domain.ChinaTime()).Sub(start)
	out := make([]domain.UsageInput, n)
	for i := range out {
		kind := domain.UsageKinds()[rng.IntN(len(domain.UsageKinds()))]
		amount := ""
		if kind != domain.UsageIdentityAuth && kind != domain.UsageRightsQuery {
			amount = decimal.New(rng.Int64N(50000), -2).StringFixed(2)
		}
		cats := categoryOfKind[kind]
		out[i] = domain.UsageInput{
			ID:         fmt.Sprintf("%s-%04d", prefix, i),
			CardNo:     cards[rng.IntN(len(cards))],
			At:         start.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second).Format(time.RFC3339),
			Kind:       string(kind),
			Amount:     amount,
			RegionCode: usageRegions[rng.IntN(len(usageRegions))],
			Merchant:   "商户" + fmt.Sprint(rng.IntN(20)),
			Category:   cats[rng.IntN(len(cats))],
			Channel:    string(domain.UsageChannels()[rng.IntN(3)]),
		}
	}
	return out
}

// expected computes, independently of ClickHouse, what the analyses must say
// about the accepted records in the window.
type expected struct {
	flows      map[[2]string]*tally
	months     map[string]*[3]decimal.Decimal // local, remote, paying count
	categories map[string]*tally
	kinds      map[string]*tally
	people     map[string]bool
	total      tally
	remote     tally
	history    map[string][]domain.UsageInput // by cardholder, in window
}

type tally struct {
	count  uint64
	amount decimal.Decimal
}

func (t *tally) add(amount decimal.Decimal) { t.count++; t.amount = t.amount.Add(amount) }

func compute(records []domain.UsageInput, holderOf map[string]person, from, to time.Time) expected {
	e := expected{flows: map[[2]string]*tally{}, months: map[string]*[3]decimal.Decimal{},
		categories: map[string]*tally{}, kinds: map[string]*tally{}, people: map[string]bool{},
		history: map[string][]domain.UsageInput{}}
	get := func(m map[string]*tally, k string) *tally {
		if m[k] == nil {
			m[k] = &tally{}
		}
		return m[k]
	}
	for _, r := range records {
		at, _ := time.Parse(time.RFC3339, r.At)
		local := at.In(domain.ChinaTime())
		day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
		if day.Before(from) || day.After(to) {
			continue
		}
		amount := decimal.Zero
		if r.Amount != "" {
			amount = decimal.RequireFromString(r.Amount)
		}
		p := holderOf[r.CardNo]
		use := domain.PrefectureOf(r.RegionCode)
		key := [2]string{p.homeCity, use}
		if e.flows[key] == nil {
			e.flows[key] = &tally{}
		}
		e.flows[key].add(amount)
		month := local.Format("2006-01")
		if e.months[month] == nil {
			e.months[month] = &[3]decimal.Decimal{}
		}
		m := e.months[month]
		if use == p.homeCity {
			m[0] = m[0].Add(amount)
		} else {
			m[1] = m[1].Add(amount)
			e.remote.add(amount)
		}
		if amount.IsPositive() {
			m[2] = m[2].Add(decimal.NewFromInt(1))
		}
		get(e.categories, r.Category).add(amount)
		get(e.kinds, r.Kind).add(amount)
		e.people[p.id] = true
		e.total.add(amount)
		e.history[p.id] = append(e.history[p.id], r)
	}
	return e
}

func TestAnalysesAgreeWithTheIngestedRecords(t *testing.T) {
	s := newSystem(t)
	// Six people: three in 苏州 (one of them in 昆山), one each in 南京, 合肥 and 上海.
	regions := []string{"320505", "320583", "320508", "320102", "340104", "310101"}
	var people []person
	for i, r := range regions {
		people = append(people, s.register(i, r))
	}
	holderOf := map[string]person{}
	for _, p := range people {
		holderOf[p.cardNo] = p
	}
	// Lifecycle: p1 loses the card and replaces it, p2 loses it for a few
	// days, p5 cancels.
	oldCard := people[1].cardNo
	s.clock.Set(time.Date(2025, 2, 10, 10, 0, 0, 0, domain.ChinaTime()))
	s.card(oldCard, domain.ReportLoss{CardNo: oldCard})
	s.clock.Set(time.Date(2025, 2, 12, 10, 0, 0, 0, domain.ChinaTime()))
	s.card(oldCard, domain.ReplaceCard{CardNo: oldCard, ApplicationID: "app-replace-1", Source: domain.SourceCounter})
	people[1].cardNo = s.issue(people[1].id)
	holderOf[people[1].cardNo] = people[1]
	s.clock.Set(time.Date(2025, 3, 5, 10, 0, 0, 0, domain.ChinaTime()))
	s.card(people[2].cardNo, domain.ReportTemporaryLoss{CardNo: people[2].cardNo})
	s.clock.Set(time.Date(2025, 3, 8, 10, 0, 0, 0, domain.ChinaTime()))
	s.card(people[2].cardNo, domain.UnlockCard{CardNo: people[2].cardNo})
	s.clock.Set(time.Date(2025, 3, 20, 10, 0, 0, 0, domain.ChinaTime()))
	s.card(people[5].cardNo, domain.CancelCard{CardNo: people[5].cardNo})

	cards := []string{oldCard}
	for _, p := range people {
		cards = append(cards, p.cardNo)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	first := randomUsage(rng, "a", 250, cards)
	// On the edge of the window: 00:10 on Jan 1st in China is still Dec 31st in UTC.
	first[0].At = "2025-01-01T00:10:00+08:00"
	second := randomUsage(rng, "b", 150, cards)
	accepted := append(slices.Clone(first), second...)

	for _, batch := range [][]domain.UsageInput{first, second} {
		rec := s.do(http.MethodPost, "/v1/usage", bankKey, analytics.UsageRequest{Records: batch})
		if rec.Code != http.StatusOK {
			t.Fatalf("POST /v1/usage: %d %s", rec.Code, rec.Body.String())
		}
	}
	t.Run("a retried batch records nothing", func(t *testing.T) {
		var got analytics.UsageResponse
		rec := s.do(http.MethodPost, "/v1/usage", bankKey, analytics.UsageRequest{Records: first})
		mustJSON(t, rec.Code, http.StatusOK, rec.Body.Bytes(), &got)
		if got != (analytics.UsageResponse{Recorded: 0, Duplicates: len(first)}) {
			t.Fatalf("retry: %+v", got)
		}
	})
	t.Run("bad records are refused one by one", func(t *testing.T) {
		mixed := randomUsage(rng, "c", 6, cards)
		mixed[1].CardNo = "A99999999"                                // well-formed, never assigned
		mixed[2].Amount = "-3.00"                                    // negative
		mixed[3].At = time.Now().Add(time.Hour).Format(time.RFC3339) // future
		mixed[4].RegionCode = "990000"                               // no such province
		var got analytics.UsageProblem
		rec := s.do(http.MethodPost, "/v1/usage", bankKey, analytics.UsageRequest{Records: mixed})
		mustJSON(t, rec.Code, http.StatusUnprocessableEntity, rec.Body.Bytes(), &got)
		if got.Code != analytics.CodeUsageRecordsRejected || got.Recorded != 2 || got.Rejected != 4 {
			t.Fatalf("problem: %+v", got)
		}
		var fields []string
		for _, f := range got.Errors {
			fields = append(fields, f.Field+":"+f.Code)
		}
		want := []string{"records[1].card_no:card_not_found", "records[2].amount:negative_amount",
			"records[3].at:in_future", "records[4].region_code:invalid_region_code"}
		if !slices.Equal(fields, want) {
			t.Fatalf("errors %v, want %v", fields, want)
		}
		accepted = append(accepted, mixed[0], mixed[5])
	})
	t.Run("all or nothing refuses the whole batch", func(t *testing.T) {
		batch := randomUsage(rng, "d", 2, cards)
		batch[1].Kind = "gambling"
		var got analytics.UsageProblem
		rec := s.do(http.MethodPost, "/v1/usage", bankKey, analytics.UsageRequest{Records: batch, AllOrNothing: true})
		mustJSON(t, rec.Code, http.StatusUnprocessableEntity, rec.Body.Bytes(), &got)
		if got.Code != analytics.CodeUsageBatchRejected || got.Recorded != 0 || got.Rejected != 1 {
			t.Fatalf("problem: %+v", got)
		}
	})
	t.Run("analysts cannot report usage and banks cannot read analyses", func(t *testing.T) {
		if rec := s.do(http.MethodPost, "/v1/usage", analystKey, analytics.UsageRequest{Records: first[:1]}); rec.Code != http.StatusForbidden {
			t.Fatalf("analyst POST: %d", rec.Code)
		}
		if rec := s.do(http.MethodGet, "/v1/analytics/flows", bankKey, nil); rec.Code != http.StatusForbidden {
			t.Fatalf("bank GET: %d", rec.Code)
		}
	})

	s.project()
	from, to := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)
	want := compute(accepted, holderOf, from, to)
	q := "?from=2025-01-01&to=2025-03-31"

	t.Run("flows", func(t *testing.T) {
		var got analytics.FlowsResponse
		s.getJSON("/v1/analytics/flows"+q, &got)
		if len(got.Flows) != len(want.flows) {
			t.Fatalf("%d flows, want %d", len(got.Flows), len(want.flows))
		}
		for _, f := range got.Flows {
			w := want.flows[[2]string{f.HomeRegion, f.UseRegion}]
			if w == nil || f.Count != w.count || f.Amount != w.amount.StringFixed(2) {
				t.Errorf("flow %+v, want %+v", f, w)
			}
		}
	})
	t.Run("spending by month", func(t *testing.T) {
		var got analytics.SpendingResponse
		s.getJSON("/v1/analytics/spending"+q+"&by=month", &got)
		var months []string
		for _, r := range got.Rows {
			months = append(months, r.Month)
			w := want.months[r.Month]
			if r.LocalAmount != w[0].StringFixed(2) || r.RemoteAmount != w[1].StringFixed(2) || r.Count != uint64(w[2].IntPart()) {
				t.Errorf("%s: %+v, want local %s remote %s count %s", r.Month, r, w[0], w[1], w[2])
			}
		}
		if !slices.Equal(months, []string{"2025-01", "2025-02", "2025-03"}) {
			t.Fatalf("months %v", months)
		}
	})
	t.Run("categories", func(t *testing.T) {
		var got analytics.CategoriesResponse
		s.getJSON("/v1/analytics/categories"+q, &got)
		if len(got.Categories) != len(want.categories) {
			t.Fatalf("%d categories, want %d", len(got.Categories), len(want.categories))
		}
		for i, c := range got.Categories {
			w := want.categories[c.Category]
			if c.Count != w.count || c.Amount != w.amount.StringFixed(2) {
				t.Errorf("%+v, want %+v", c, w)
			}
			if i > 0 && decimal.RequireFromString(c.Amount).GreaterThan(decimal.RequireFromString(got.Categories[i-1].Amount)) {
				t.Errorf("categories not by amount: %v", got.Categories)
			}
		}
	})
	t.Run("usage statistics", func(t *testing.T) {
		var got analytics.UsageStats
		s.getJSON("/v1/analytics/usage-stats"+q, &got)
		if got.Count != want.total.count || got.Amount != want.total.amount.StringFixed(2) || got.People != uint64(len(want.people)) {
			t.Fatalf("totals %d %s %d, want %+v and %d people", got.Count, got.Amount, got.People, want.total, len(want.people))
		}
		if got.IdentityAuths != want.kinds["identity_auth"].count || got.RightsQueries != want.kinds["rights_query"].count {
			t.Errorf("identity %d rights %d", got.IdentityAuths, got.RightsQueries)
		}
		for _, k := range got.ByKind {
			w := want.kinds[k.Kind]
			if k.Count != w.count || k.Amount != w.amount.StringFixed(2) {
				t.Errorf("%+v, want %+v", k, w)
			}
		}
		var top analytics.TopPeopleResponse
		s.getJSON("/v1/analytics/usage-stats/people"+q, &top)
		if len(top.People) != len(want.people) {
			t.Fatalf("%d people listed, want %d", len(top.People), len(want.people))
		}
		var perPerson uint64
		for i, p := range top.People {
			if i > 0 && p.Count > top.People[i-1].Count {
				t.Errorf("people not ordered by uses: %+v", top.People)
			}
			perPerson += p.Count
			if uint64(len(want.history[p.CardholderID])) != p.Count {
				t.Errorf("person %s: %d uses, want %d", p.CardholderID, p.Count, len(want.history[p.CardholderID]))
			}
		}
		if perPerson != want.total.count {
			t.Errorf("per-person counts add up to %d, want %d", perPerson, want.total.count)
		}
	})
	t.Run("an empty window has zero figures", func(t *testing.T) {
		var got analytics.UsageStats
		s.getJSON("/v1/analytics/usage-stats?from=2020-01-01&to=2020-01-31", &got)
		if got.Count != 0 || got.Amount != "0.00" || got.People != 0 || len(got.ByKind) != len(domain.UsageKinds()) {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("cross-region use", func(t *testing.T) {
		var got analytics.CrossRegionResponse
		s.getJSON("/v1/analytics/cross-region"+q, &got)
		if got.Total.Count != want.total.count || got.Total.RemoteCount != want.remote.count ||
			got.Total.RemoteAmount != want.remote.amount.StringFixed(2) {
			t.Fatalf("total %+v, want %d uses, %+v remote", got.Total, want.total.count, want.remote)
		}
	})
	t.Run("a person's history and profile", func(t *testing.T) {
		p := people[1] // two cards: the lost one and its replacement
		var got analytics.HistoryResponse
		s.getJSON("/v1/analytics/people/"+p.id+"/history"+q, &got)
		w := want.history[p.id]
		if len(got.Uses) != len(w) {
			t.Fatalf("%d uses, want %d", len(got.Uses), len(w))
		}
		ids := map[string]bool{}
		for i, u := range got.Uses {
			ids[u.RecordID] = true
			if i > 0 && u.At.Before(got.Uses[i-1].At) {
				t.Fatalf("history out of order at %d", i)
			}
		}
		for _, r := range w {
			if !ids[r.ID] {
				t.Fatalf("record %s missing from the history", r.ID)
			}
		}
		var pr analytics.Profile
		s.getJSON("/v1/analytics/people/"+p.id+"/profile"+q, &pr)
		var hours, channels uint64
		for _, n := range pr.Hours {
			hours += n
		}
		for _, c := range pr.Channels {
			channels += c.Count
		}
		if pr.Count != uint64(len(w)) || hours != pr.Count || channels != pr.Count {
			t.Fatalf("profile count %d hours %d channels %d, want %d", pr.Count, hours, channels, len(w))
		}
	})
	t.Run("lifecycle: issuance and blacklist", func(t *testing.T) {
		var got analytics.LifecycleResponse
		s.getJSON("/v1/analytics/lifecycle"+q, &got)
		type row struct {
			month                                                        string
			registered, issued, lost, tempLost, unlocked, cancelled, rep uint64
			blacklist                                                    int64
		}
		var rows []row
		for _, r := range got.Rows {
			rows = append(rows, row{r.Month, r.Registered, r.Issued, r.Lost, r.TemporarilyLost, r.Unlocked, r.Cancelled, r.Replacements, r.BlacklistSize})
		}
		wantRows := []row{
			{"2025-01", 6, 6, 0, 0, 0, 0, 0, 0},
			{"2025-02", 0, 1, 1, 0, 0, 1, 1, 1}, // the lost card stays listed after its replacement cancels it
			{"2025-03", 0, 0, 0, 1, 1, 1, 0, 2},
		}
		if !slices.Equal(rows, wantRows) {
			t.Fatalf("lifecycle\n got %+v\nwant %+v", rows, wantRows)
		}
	})
	t.Run("CSV", func(t *testing.T) {
		rec := s.do(http.MethodGet, "/v1/analytics/flows"+q+"&format=csv", analystKey, nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
			t.Fatalf("%d %s", rec.Code, rec.Header().Get("Content-Type"))
		}
		rows, err := csv.NewReader(rec.Body).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rows[0], []string{"home_region", "use_region", "count", "amount"}) || len(rows) != 1+len(want.flows) {
			t.Fatalf("csv: header %v, %d rows", rows[0], len(rows))
		}
	})
	t.Run("bad windows are 400", func(t *testing.T) {
		for bad, field := range map[string]string{"?from=2025-13-01": "from", "?from=2025-03-01&to=2025-01-01": "from",
			"?from=1990-01-01&to=2025-01-01": "from", q + "&format=xml": "format"} {
			rec := s.do(http.MethodGet, "/v1/analytics/flows"+bad, analystKey, nil)
			var p httpapi.Problem
			_ = json.Unmarshal(rec.Body.Bytes(), &p)
			// One code for a bad query parameter across the APIs, naming the parameter.
			if rec.Code != http.StatusBadRequest || p.Code != "invalid_query" || len(p.Errors) == 0 || p.Errors[0].Field != field {
				t.Errorf("%s: %d %+v, want 400 invalid_query on %s", bad, rec.Code, p, field)
			}
		}
	})
}

func mustJSON(t *testing.T, code, wantCode int, body []byte, v any) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("status %d, want %d: %s", code, wantCode, body)
	}
	if err := jsonUnmarshal(body, v); err != nil {
		t.Fatal(err)
	}
}
