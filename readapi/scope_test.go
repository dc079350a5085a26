package readapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/readapi"
)

// Single-record reads check the row's region and bank against the caller's scope.
func TestRecordReadsCheckScope(t *testing.T) {
	h := newHarness(t)
	h.seed(5, seed.HistoryOptions{})
	h.run()
	h.caughtUp()

	var ch readapi.Cardholder
	h.getJSON(keyCounter, "/v1/cardholders?id_number="+idNumberOf(1), http.StatusOK, &ch)
	require.NotNil(t, ch.CurrentCard)
	region, bank, card := ch.RegionCode, ch.CurrentCard.BankCode, ch.CurrentCard.CardNo
	require.True(t, httpapi.IsCountyRegion(region), "seeded people live in counties: %s", region)
	otherCounty := region[:4] + "99"
	city := region[:4] + "00"

	auth := httpapi.StaticAuthenticator{
		"own-county":   {Client: "a", Role: httpapi.RoleCounter, Region: region},
		"other-county": {Client: "b", Role: httpapi.RoleCounter, Region: otherCounty},
		"city":         {Client: "c", Role: httpapi.RoleAuditor, Region: city},
		"own-bank":     {Client: "d", Role: httpapi.RoleBank, Bank: bank},
		"other-bank":   {Client: "e", Role: httpapi.RoleBank, Bank: "999"},
	}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Auth: auth, Log: h.log}, h.api.Routes()))
	t.Cleanup(srv.Close)
	get := func(key, path string) (int, string) {
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		client := &http.Client{Timeout: 30 * time.Second}
		res, err := client.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var p httpapi.Problem
		_ = json.Unmarshal(raw, &p)
		return res.StatusCode, p.Code
	}
	paths := []string{
		"/v1/cardholders/" + ch.CardholderID,
		"/v1/cardholders?id_number=" + idNumberOf(1),
		"/v1/cardholders/" + ch.CardholderID + "/progress",
		"/v1/cards/" + card,
	}
	for _, path := range paths {
		for _, tc := range []struct {
			key    string
			status int
			code   string
		}{
			{"own-county", http.StatusOK, ""},
			{"city", http.StatusOK, ""},
			{"own-bank", http.StatusOK, ""},
			{"other-county", http.StatusForbidden, httpapi.CodeScopeRegion},
			{"other-bank", http.StatusForbidden, httpapi.CodeScopeBank},
		} {
			status, code := get(tc.key, path)
			assert.Equal(t, tc.status, status, "%s as %s", path, tc.key)
			assert.Equal(t, tc.code, code, "%s as %s", path, tc.key)
		}
	}
	status, _ := get("other-county", "/v1/cardholders/"+domain.CardholderIDFor(seed.HistoryKey, "110105194912310029"))
	assert.Equal(t, http.StatusNotFound, status, "absent records are 404 for everyone")
}

// Lists keep only the rows in the caller's scope.
func TestListsAreFilteredByScope(t *testing.T) {
	h := newHarness(t)
	h.seed(30, seed.HistoryOptions{})
	h.run()
	h.caughtUp()
	var ch readapi.Cardholder
	h.getJSON(keyCounter, "/v1/cardholders?id_number="+idNumberOf(1), http.StatusOK, &ch)
	region, employer := ch.RegionCode, ch.EmployerCode
	auth := httpapi.StaticAuthenticator{
		"all":          {Client: "a", Role: httpapi.RoleCounter},
		"city":         {Client: "b", Role: httpapi.RoleCounter, Region: region[:4] + "00"},
		"other-city":   {Client: "c", Role: httpapi.RoleCounter, Region: "310100"},
		"other-county": {Client: "d", Role: httpapi.RoleCounter, Region: region[:4] + "99"},
		"own-county":   {Client: "e", Role: httpapi.RoleCounter, Region: region},
		"other-bank":   {Client: "f", Role: httpapi.RoleBank, Bank: "999"},
	}
	srv := httptest.NewServer(httpapi.NewServer(httpapi.Options{Auth: auth, Log: h.log}, h.api.Routes()))
	t.Cleanup(srv.Close)
	page := func(key string) readapi.HoldingPage {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/employers/"+employer+"/holdings?limit=1000", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode)
		var p readapi.HoldingPage
		require.NoError(t, json.NewDecoder(res.Body).Decode(&p))
		return p
	}
	all := page("all")
	require.NotEmpty(t, all.Items)
	assert.Equal(t, all, page("city"), "the city sees all of its people")
	own := page("own-county")
	assert.NotEmpty(t, own.Items)
	assert.LessOrEqual(t, len(own.Items), len(all.Items))
	for _, key := range []string{"other-city", "other-county", "other-bank"} {
		p := page(key)
		assert.Empty(t, p.Items, key)
		assert.Empty(t, p.ByStatus, key)
	}
}
