package batch

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// A county counter creates batches only over its county and sees and acts
// only on those; a batch without a region is the city centre's.
func TestBatchesKeepToTheCountersRegion(t *testing.T) {
	e := newEnv(t)
	svc := e.service(t)
	srv := httpapi.NewServer(httpapi.Options{
		Auth: httpapi.StaticAuthenticator{
			"city":  {Client: "city-counter", Role: httpapi.RoleCounter},
			"home":  {Client: "home-counter", Role: httpapi.RoleCounter, Region: "320505"},
			"other": {Client: "other-counter", Role: httpapi.RoleCounter, Region: "320506"},
		},
		MapError: commands.ProblemFor,
		Log:      quietLog(),
	}, NewAPI(svc).Routes())
	call := func(key, method, path string, body any, wantStatus int, wantCode string) []byte {
		t.Helper()
		var rd *bytes.Reader
		ctype := "application/json"
		switch b := body.(type) {
		case []byte:
			rd, ctype = bytes.NewReader(b), "text/csv"
		default:
			raw, _ := json.Marshal(b)
			rd = bytes.NewReader(raw)
		}
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != wantStatus {
			t.Fatalf("%s %s as %s: %d %s, want %d", method, path, key, rec.Code, rec.Body.String(), wantStatus)
		}
		if wantCode != "" {
			var p httpapi.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != wantCode {
				t.Fatalf("%s %s as %s: problem %q (%v), want %q", method, path, key, p.Code, err, wantCode)
			}
		}
		return rec.Body.Bytes()
	}
	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, people(12, 0), files.EncodingUTF8); err != nil {
		t.Fatal(err)
	}
	call("city", http.MethodPost, "/v1/applications/imports", csv.Bytes(), http.StatusAccepted, "")
	svc.WaitImports()

	call("city", http.MethodPost, "/v1/batches", createBody{BatchID: "ALL", Filter: domain.BatchFilter{CommunityCode: "C1"}}, http.StatusCreated, "")
	call("home", http.MethodPost, "/v1/batches", createBody{BatchID: "MINE", Filter: domain.BatchFilter{RegionCode: "320505", CommunityCode: "C2"}}, http.StatusCreated, "")
	call("other", http.MethodPost, "/v1/batches", createBody{BatchID: "THEIRS", Filter: domain.BatchFilter{RegionCode: "320505"}}, http.StatusForbidden, httpapi.CodeScopeRegion)
	call("home", http.MethodPost, "/v1/batches", createBody{BatchID: "WIDE", Filter: domain.BatchFilter{CommunityCode: "C3"}}, http.StatusForbidden, httpapi.CodeScopeRegion)

	list := func(key string) []string {
		var out []BatchSummary
		if err := json.Unmarshal(call(key, http.MethodGet, "/v1/batches", nil, http.StatusOK, ""), &out); err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, b := range out {
			ids = append(ids, b.BatchID)
		}
		return ids
	}
	for key, want := range map[string][]string{"city": {"MINE", "ALL"}, "home": {"MINE"}, "other": {}} {
		got := list(key)
		if len(got) != len(want) || (len(want) > 0 && !sameSet(got, want)) {
			t.Errorf("%s counter lists %v, want %v", key, got, want)
		}
	}

	call("home", http.MethodGet, "/v1/batches/MINE", nil, http.StatusOK, "")
	call("home", http.MethodGet, "/v1/batches/MINE/members", nil, http.StatusOK, "")
	call("home", http.MethodGet, "/v1/batches/ALL", nil, http.StatusForbidden, httpapi.CodeScopeRegion)
	call("home", http.MethodPost, "/v1/batches/ALL/review", reviewBody{Reviewer: "r"}, http.StatusForbidden, httpapi.CodeScopeRegion)
	call("other", http.MethodGet, "/v1/batches/MINE", nil, http.StatusForbidden, httpapi.CodeScopeRegion)
	call("other", http.MethodGet, "/v1/batches/MINE/members", nil, http.StatusForbidden, httpapi.CodeScopeRegion)
	call("other", http.MethodPost, "/v1/batches/MINE/review", reviewBody{Reviewer: "r"}, http.StatusForbidden, httpapi.CodeScopeRegion)
	call("other", http.MethodPost, "/v1/batches/MINE/exports/bank_open", nil, http.StatusForbidden, httpapi.CodeScopeRegion)
	call("other", http.MethodPost, "/v1/batches/MINE/resume", nil, http.StatusForbidden, httpapi.CodeScopeRegion)
	call("other", http.MethodGet, "/v1/batches/nope", nil, http.StatusNotFound, "")
	call("home", http.MethodPost, "/v1/batches/MINE/review", reviewBody{Reviewer: "r"}, http.StatusOK, "")
}

func sameSet(a, b []string) bool {
	seen := map[string]int{}
	for _, s := range a {
		seen[s]++
	}
	for _, s := range b {
		seen[s]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}
