package audit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
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
	} else {
		e.lastProblem = httpapi.Problem{}
		_ = json.Unmarshal(rec.Body.Bytes(), &e.lastProblem)
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

// entry is what identifies an action: where it is in the log and which
// event it is.
type entry struct {
	Position, Stream string
	Revision         uint64
	EventID, Client  string
}

// Paging walks the trail in log order: every page holds exactly the next
// actions after the cursor, with none skipped or repeated, for every page
// size and with a filter; next is the last action's position while a page
// is full, and empty on the page that ends the trail.
func TestAuditTrailPages(t *testing.T) {
	e := newEnv(t)
	bank := domain.Actor{Client: "bank-102"}
	e.appendN("card-1", 2, counter, "")
	e.appendN("card-2", 3, bank, "")
	e.appendN("card-1", 2, bank, "")
	e.appendN("card-3", 1, counter, "")
	e.project()

	// The expected trail comes from the event store itself.
	recs, err := e.store.ReadAll(e.ctx, eventstore.Start, 0)
	if err != nil {
		t.Fatal(err)
	}
	var all, byBank []entry
	for _, r := range recs {
		var md domain.Metadata
		if err := json.Unmarshal(r.Metadata, &md); err != nil {
			t.Fatal(err)
		}
		en := entry{r.Position.String(), r.Stream, r.Revision, r.ID.String(), md.Actor.Client}
		all = append(all, en)
		if en.Client == "bank-102" {
			byBank = append(byBank, en)
		}
	}
	if len(all) != 8 || len(byBank) != 5 {
		t.Fatalf("store holds %d events, %d by the bank; want 8 and 5", len(all), len(byBank))
	}
	streams := ""
	for _, en := range all {
		streams += fmt.Sprintf("%s/%d ", en.Stream, en.Revision)
	}
	if want := "card-1/0 card-1/1 card-2/0 card-2/1 card-2/2 card-1/2 card-1/3 card-3/0 "; streams != want {
		t.Fatalf("log order %q, want %q", streams, want)
	}

	for _, tc := range []struct {
		actor string
		want  []entry
	}{{"", all}, {"bank-102", byBank}} {
		for _, limit := range []int{1, 2, 3, 5, 8, 9} {
			t.Run(fmt.Sprintf("actor %q limit %d", tc.actor, limit), func(t *testing.T) {
				q := url.Values{"limit": {strconv.Itoa(limit)}}
				if tc.actor != "" {
					q.Set("actor", tc.actor)
				}
				var got []entry
				for page := 0; ; page++ {
					if page > len(tc.want)+1 {
						t.Fatalf("no end after %d pages", page)
					}
					status, p := e.get(q)
					if status != http.StatusOK {
						t.Fatalf("page %d: status %d", page, status)
					}
					from := min(page*limit, len(tc.want))
					to := min(from+limit, len(tc.want))
					var items []entry
					for _, a := range p.Actions {
						items = append(items, entry{a.Position, a.Stream, a.Revision, a.EventID, a.Client})
					}
					if !slices.Equal(items, tc.want[from:to]) {
						t.Fatalf("page %d after %q = %v, want %v", page, q.Get("after"), items, tc.want[from:to])
					}
					got = append(got, items...)
					if len(items) < limit {
						if p.Next != "" {
							t.Fatalf("page %d is the last but has next %q", page, p.Next)
						}
						break
					}
					if p.Next != items[len(items)-1].Position {
						t.Fatalf("page %d: next %q, want the last action's position %q", page, p.Next, items[len(items)-1].Position)
					}
					q.Set("after", p.Next)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("paged %v, want %v", got, tc.want)
				}
			})
		}
	}
}

func TestAuditQueryRefusesBadInput(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		q     url.Values
		field string
	}{
		{url.Values{"from": {"yesterday"}}, "from"},
		{url.Values{"from": {"2026-03-02T00:00:00Z"}, "to": {"2026-03-01T00:00:00Z"}}, "to"},
		{url.Values{"limit": {"0"}}, "limit"},
		{url.Values{"limit": {"1001"}}, "limit"},
		{url.Values{"after": {"zz"}}, "after"},
	} {
		if status, _ := e.get(tc.q); status != http.StatusBadRequest {
			t.Errorf("%v: status %d, want 400", tc.q, status)
		}
		// One code for a bad query parameter across the APIs, naming the parameter.
		if p := e.lastProblem; p.Code != "invalid_query" || len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
			t.Errorf("%v: problem %+v, want invalid_query on %s", tc.q, p, tc.field)
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
