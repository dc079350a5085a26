package audit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// Only unscoped auditors list the trail; a county's or a bank's auditor is
// refused, naming the scope.
func TestAuditTrailIsForUnscopedAuditorsOnly(t *testing.T) {
	e := newEnv(t)
	log := logrus.New()
	log.SetOutput(io.Discard)
	srv := httpapi.NewServer(httpapi.Options{Log: log, Auth: httpapi.StaticAuthenticator{
		"city":   {Client: "city-auditor", Role: httpapi.RoleAuditor},
		"county": {Client: "county-auditor", Role: httpapi.RoleAuditor, Region: "320506"},
		"bank":   {Client: "bank-auditor", Role: httpapi.RoleAuditor, Bank: "102"},
	}}, NewAPI(e.pool).Routes())
	for _, tc := range []struct {
		key    string
		status int
		code   string
	}{
		{"city", http.StatusOK, ""},
		{"county", http.StatusForbidden, httpapi.CodeScopeRegion},
		{"bank", http.StatusForbidden, httpapi.CodeScopeBank},
	} {
		req := httptest.NewRequest(http.MethodGet, "/v1/audit", nil)
		req.Header.Set("Authorization", "Bearer "+tc.key)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != tc.status {
			t.Errorf("%s auditor: %d, want %d (%s)", tc.key, rec.Code, tc.status, rec.Body.String())
			continue
		}
		var p httpapi.Problem
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		if p.Code != tc.code {
			t.Errorf("%s auditor: problem %q, want %q", tc.key, p.Code, tc.code)
		}
	}
}
