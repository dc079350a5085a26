package audit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// get calls GET /v1/audit?query on the route's handler.
func (e *env) get(query url.Values) (int, Actions) {
	e.t.Helper()
	routes := NewAPI(e.pool).Routes()
	if len(routes) != 1 || routes[0].Path != "/v1/audit" || len(routes[0].Roles) != 1 || routes[0].Roles[0] != httpapi.RoleAuditor {
		e.t.Fatalf("routes = %+v", routes)
	}
	srv := echo.New()
	srv.HTTPErrorHandler = func(err error, c echo.Context) {
		if p, ok := err.(*httpapi.Problem); ok {
			_ = c.JSON(p.Status, p)
			return
		}
		_ = c.NoContent(http.StatusInternalServerError)
	}
	srv.GET("/v1/audit", routes[0].Handler)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/audit?"+query.Encode(), nil))
	var out Actions
	if rec.Code == http.StatusOK {
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			e.t.Fatal(err)
		}
	}
	return rec.Code, out
}

func TestAuditTrailByActorAndTime(t *testing.T) {
	e := newEnv(t)
	bank := domain.Actor{Client: "bank-102", CertSubject: "CN=bank-102,O=Bank of Suzhou"}
	e.appendN("card-1", 2, counter, "10.0.0.1")
	e.appendN("card-2", 1, bank, "10.0.0.2")
	e.project()
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	e.appendN("card-1", 1, bank, "10.0.0.2")
	e.project()

	tests := []struct {
		name    string
		query   url.Values
		streams []string
	}{
		{"everything in log order", url.Values{}, []string{"card-1", "card-1", "card-2", "card-1"}},
		{"by client", url.Values{"actor": {"bank-102"}}, []string{"card-2", "card-1"}},
		{"by operator", url.Values{"actor": {"窗口01"}}, []string{"card-1", "card-1"}},
		{"by certificate subject", url.Values{"actor": {"CN=bank-102,O=Bank of Suzhou"}}, []string{"card-2", "card-1"}},
		{"from", url.Values{"from": {mid.Format(time.RFC3339Nano)}}, []string{"card-1"}},
		{"to", url.Values{"to": {mid.Format(time.RFC3339Nano)}, "actor": {"bank-102"}}, []string{"card-2"}},
		{"unknown actor", url.Values{"actor": {"nobody"}}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, got := e.get(tc.query)
			if status != http.StatusOK {
				t.Fatalf("status %d", status)
			}
			streams := []string{}
			for _, a := range got.Actions {
				streams = append(streams, a.Stream)
			}
			if len(streams) != len(tc.streams) {
				t.Fatalf("streams = %v, want %v", streams, tc.streams)
			}
			for i := range streams {
				if streams[i] != tc.streams[i] {
					t.Fatalf("streams = %v, want %v", streams, tc.streams)
				}
			}
		})
	}

	_, all := e.get(url.Values{"actor": {"bank-102"}})
	a := all.Actions[1]
	if a.Client != "bank-102" || a.CertSubject != bank.CertSubject || a.RemoteAddr != "10.0.0.2" || a.Channel != "http" ||
		a.CorrelationID != "corr-card-1" || a.CausationID != "cause-0" || a.Revision != 2 || a.Type != "Tested" || a.OccurredAt == nil {
		t.Errorf("action = %+v", a)
	}
}

func TestAuditTrailPages(t *testing.T) {
	e := newEnv(t)
	e.appendN("card-1", 5, counter, "")
	e.project()
	var revs []uint64
	q := url.Values{"limit": {"2"}}
	for range 4 {
		_, page := e.get(q)
		for _, a := range page.Actions {
			revs = append(revs, a.Revision)
		}
		if page.Next == "" {
			break
		}
		q.Set("after", page.Next)
	}
	if len(revs) != 5 || revs[0] != 0 || revs[4] != 4 {
		t.Errorf("paged revisions = %v, want 0..4", revs)
	}
}

func TestAuditQueryRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	for _, q := range []url.Values{
		{"from": {"yesterday"}},
		{"from": {"2026-03-02T00:00:00Z"}, "to": {"2026-03-01T00:00:00Z"}},
		{"limit": {"0"}},
		{"limit": {"1001"}},
		{"after": {"zz"}},
	} {
		if status, _ := e.get(q); status != http.StatusBadRequest {
			t.Errorf("%v: status %d, want 400", q, status)
		}
	}
}

// Replaying a batch the projection already stored adds nothing.
func TestProjectionSkipsStoredEvents(t *testing.T) {
	e := newEnv(t)
	e.appendN("card-1", 3, counter, "")
	e.project()
	batch, err := e.store.ReadAll(e.ctx, eventstore.Start, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := NewProjection(e.pool).Apply(e.ctx, batch); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := e.pool.QueryRow(e.ctx, `SELECT count(*) FROM audit.actions`).Scan(&n); err != nil || n != 3 {
		t.Errorf("%d actions (%v), want 3", n, err)
	}
}
