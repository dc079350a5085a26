package analytics_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// A county analyst sees only people of its county; a bank-bound analyst,
// whose bank the projection cannot check, sees no person at all.
func TestPerPersonAnalysesKeepToTheCallersScope(t *testing.T) {
	s := newSystem(t)
	mine := s.register(1, countyAnalystRegion)
	other := s.register(2, "320507")
	rec := s.do(http.MethodPost, "/v1/usage", bankKey, analytics.UsageRequest{Records: []domain.UsageInput{
		{ID: "u-1", CardNo: mine.cardNo, At: "2025-03-10T09:30:00+08:00", Kind: "medical_settlement",
			Amount: "10.00", RegionCode: "320506", Merchant: "m", Category: "drugs", Channel: "card"},
		{ID: "u-2", CardNo: other.cardNo, At: "2025-03-10T09:31:00+08:00", Kind: "medical_settlement",
			Amount: "20.00", RegionCode: "320507", Merchant: "m", Category: "drugs", Channel: "card"},
		{ID: "u-3", CardNo: other.cardNo, At: "2025-03-10T09:32:00+08:00", Kind: "medical_settlement",
			Amount: "30.00", RegionCode: "320507", Merchant: "m", Category: "drugs", Channel: "card"},
	}})
	if rec.Code != http.StatusOK {
		t.Fatalf("POST /v1/usage: %d %s", rec.Code, rec.Body.String())
	}
	s.project()

	const window = "?from=2025-03-01&to=2025-03-31"
	for _, tc := range []struct {
		key, path string
		status    int
		code      string
	}{
		{countyAnalystKey, "/v1/analytics/people/" + mine.id + "/history", http.StatusOK, ""},
		{countyAnalystKey, "/v1/analytics/people/" + mine.id + "/profile", http.StatusOK, ""},
		{countyAnalystKey, "/v1/analytics/cards/" + mine.cardNo + "/history", http.StatusOK, ""},
		{countyAnalystKey, "/v1/analytics/cards/" + mine.cardNo + "/profile", http.StatusOK, ""},
		{countyAnalystKey, "/v1/analytics/people/" + other.id + "/history", http.StatusForbidden, httpapi.CodeScopeRegion},
		{countyAnalystKey, "/v1/analytics/people/" + other.id + "/profile", http.StatusForbidden, httpapi.CodeScopeRegion},
		{countyAnalystKey, "/v1/analytics/cards/" + other.cardNo + "/history", http.StatusForbidden, httpapi.CodeScopeRegion},
		{countyAnalystKey, "/v1/analytics/cards/" + other.cardNo + "/profile", http.StatusForbidden, httpapi.CodeScopeRegion},
		{countyAnalystKey, "/v1/analytics/people/" + "0123456789abcdef0123456789abcdef" + "/history", http.StatusForbidden, httpapi.CodeScopeRegion},
		{bankAnalystKey, "/v1/analytics/people/" + mine.id + "/history", http.StatusForbidden, httpapi.CodeScopeBank},
		{bankAnalystKey, "/v1/analytics/cards/" + mine.cardNo + "/profile", http.StatusForbidden, httpapi.CodeScopeBank},
		{bankAnalystKey, "/v1/analytics/usage-stats/people", http.StatusForbidden, httpapi.CodeScopeBank},
		{analystKey, "/v1/analytics/people/" + other.id + "/history", http.StatusOK, ""},
	} {
		rec := s.do(http.MethodGet, tc.path+window, tc.key, nil)
		if rec.Code != tc.status {
			t.Errorf("%s as %s: %d, want %d (%s)", tc.path, tc.key, rec.Code, tc.status, rec.Body.String())
			continue
		}
		if tc.code != "" {
			var p httpapi.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != tc.code {
				t.Errorf("%s as %s: problem %q (%v), want %q", tc.path, tc.key, p.Code, err, tc.code)
			}
		}
	}

	top := func(key string) []string {
		rec := s.do(http.MethodGet, "/v1/analytics/usage-stats/people"+window, key, nil)
		if rec.Code != http.StatusOK {
			t.Fatalf("top people as %s: %d %s", key, rec.Code, rec.Body.String())
		}
		var res analytics.TopPeopleResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, p := range res.People {
			ids = append(ids, p.CardholderID)
		}
		return ids
	}
	if got := top(countyAnalystKey); len(got) != 1 || got[0] != mine.id {
		t.Errorf("county analyst's top people = %v, want only %s", got, mine.id)
	}
	if got := top(analystKey); len(got) != 2 || got[0] != other.id || got[1] != mine.id {
		t.Errorf("city analyst's top people = %v, want %s then %s", got, other.id, mine.id)
	}
}
