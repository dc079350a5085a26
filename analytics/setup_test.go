package analytics_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/analytics"
	"github.com/cardledger/cardledger/analytics/chtest"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// system is a whole write side (PostgreSQL event store, command service),
// the analytics projection into a private ClickHouse database and the HTTP
// server with the analytics routes.
type system struct {
	t     testing.TB
	store *pgstore.Store
	svc   *commands.Service
	ch    driver.Conn
	proj  *analytics.Projection
	http  *echo.Echo
	clock *testClock
	pgURL string
	// chOpts are the projection's options (a cluster), for the projections
	// a test makes besides proj.
	chOpts []analytics.Option

	mu   sync.Mutex
	last eventstore.Position // of the newest event this test wrote
}

// testClock is the command clock; tests move it to date lifecycle events.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

const (
	analystKey       = "analyst-key"
	bankKey          = "bank-key"
	countyAnalystKey = "county-analyst-key" // bound to countyAnalystRegion
	bankAnalystKey   = "bank-analyst-key"   // bound to bank 102
	displayKey       = "display-key"        // a hall screen
)

const countyAnalystRegion = "320506"

func newSystem(t testing.TB) *system {
	t.Helper()
	return newSystemOn(t, chtest.NewDatabase(t))
}

// newSystemOn is newSystem on the migrated ClickHouse database of chURL,
// with the projection's options (a cluster).
func newSystemOn(t testing.TB, chURL string, opts ...analytics.Option) *system {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pgURL := testpg.NewDatabase(t)
	store, err := pgstore.Open(ctx, withPoolSize(t, pgURL, analytics.DefaultIngestParallelism))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clock := &testClock{now: time.Date(2025, 1, 2, 9, 0, 0, 0, domain.ChinaTime())}
	svc, err := commands.NewService(store, []byte("analytics-test-id-key"), clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := analytics.Open(ctx, chURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	proj := analytics.NewProjection(ch, opts...)
	ingester := analytics.NewIngester(store, analytics.CardNumbersDirectory{Numbers: svc.CardNumbers}, nil)
	api := analytics.NewAPI(ingester, analytics.NewQueries(ch), analytics.ProjectionLag(store, ch),
		func() time.Time { return time.Date(2025, 3, 31, 12, 0, 0, 0, time.UTC) }).WithScreen(analytics.Screen{CityName: "苏州市"})
	log := logrus.New()
	log.SetOutput(io.Discard)
	srv := httpapi.NewServer(httpapi.Options{Log: log, Auth: httpapi.StaticAuthenticator{
		analystKey:       {Client: "analyst-1", Role: httpapi.RoleAnalyst},
		bankKey:          {Client: "hospital-gateway", Role: httpapi.RoleBank},
		countyAnalystKey: {Client: "county-analyst", Role: httpapi.RoleAnalyst, Region: countyAnalystRegion},
		bankAnalystKey:   {Client: "bank-analyst", Role: httpapi.RoleAnalyst, Bank: "102"},
		displayKey:       {Client: "hall-screen-1", Role: httpapi.RoleDisplay},
	}}, api.Routes())
	return &system{t: t, store: store, svc: svc, ch: ch, proj: proj, http: srv, clock: clock, pgURL: pgURL, chOpts: opts}
}

// person is a registered cardholder with an issued card.
type person struct {
	id       string // cardholder id
	idNumber string
	region   string
	homeCity string
	cardNo   string
}

// register registers someone living in region and issues them a card at
// the clock's time.
func (s *system) register(seq int, region string) person {
	s.t.Helper()
	p := s.registerOnly(seq, region)
	p.cardNo = s.issue(p.id)
	return p
}

// registerOnly registers someone living in region, with no card.
func (s *system) registerOnly(seq int, region string) person {
	s.t.Helper()
	ctx := context.Background()
	birth := time.Date(1960+seq%40, time.Month(1+seq%12), 1+seq%28, 0, 0, 0, 0, time.UTC)
	sex := domain.Male
	if seq%2 == 0 {
		sex = domain.Female
	}
	env := commands.NewEnvelope(domain.Actor{Client: "test"}, "test")
	idNumber := seed.IDNumber(region, birth, seq, sex)
	res, err := s.svc.Register.Handle(ctx, commands.Register{Envelope: env, Cardholder: domain.RegisterCardholder{
		IDNumber: idNumber, Name: "测试" + string(rune('甲'+seq%10)), Sex: sex,
		Nationality: "CHN", RegionCode: region,
	}})
	if err != nil {
		s.t.Fatalf("register %d: %v", seq, err)
	}
	s.wrote(res.Position)
	return person{id: res.CardholderID, idNumber: idNumber, region: region, homeCity: domain.PrefectureOf(region)}
}

// issue runs the bank-counter flow for a holder and returns the card number.
func (s *system) issue(holder string) string {
	s.t.Helper()
	res, err := s.svc.InstantIssue.Handle(context.Background(), commands.InstantIssue{
		Envelope: commands.NewEnvelope(domain.Actor{Client: "test"}, "test"), CardholderID: holder, BankCode: "102",
		AccountNo: "6212260200012345678", ChipID: "0123456789ABCDEF0123456789ABCDEF",
	})
	if err != nil {
		s.t.Fatalf("instant issue for %s: %v", holder, err)
	}
	s.wrote(res.Position)
	return res.State.Card.CardNo
}

// card runs a card command.
func (s *system) card(cardNo string, cmd domain.CardholderCommand) {
	s.t.Helper()
	res, err := s.svc.Card.Handle(context.Background(), commands.CardCommand{
		Envelope: commands.NewEnvelope(domain.Actor{Client: "test"}, "test"), CardNo: cardNo, Command: cmd,
	})
	if err != nil {
		s.t.Fatalf("%s on %s: %v", cmd.CommandName(), cardNo, err)
	}
	s.wrote(res.Position)
}

// wrote notes the position of an event the test caused.
func (s *system) wrote(pos eventstore.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last.Less(pos) {
		s.last = pos
	}
}

func (s *system) lastWritten() eventstore.Position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// project brings the projection up to the newest event the test wrote, the
// way the runner's catch-up does: pages of the global log handed to Apply.
// The $all log may show a commit a moment late (another transaction on the
// server holds the snapshot back), so an empty page means "ask again".
func (s *system) project() {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pos, err := s.proj.Checkpoint(ctx)
	if err != nil {
		s.t.Fatal(err)
	}
	target := s.lastWritten()
	for pos.Less(target) {
		page, err := s.store.ReadAll(ctx, pos, 5000)
		if err != nil {
			s.t.Fatal(err)
		}
		if len(page) == 0 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err := s.proj.Apply(ctx, page); err != nil {
			s.t.Fatal(err)
		}
		pos = page[len(page)-1].Position
	}
}

// do sends a request with body as JSON to the server and returns the recorder.
func (s *system) do(method, path, key string, body any) *httptest.ResponseRecorder {
	s.t.Helper()
	var b []byte
	if body != nil {
		b = mustMarshal(s.t, body)
	}
	return s.doRaw(method, path, key, b)
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// doRaw sends a request with a JSON body (nil: none).
func (s *system) doRaw(method, path, key string, body []byte) *httptest.ResponseRecorder {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	s.http.ServeHTTP(rec, req)
	if method == http.MethodPost && path == "/v1/usage" {
		var got analytics.UsageResponse
		if json.Unmarshal(rec.Body.Bytes(), &got) == nil && got.Position != "" {
			pos, err := eventstore.ParsePosition(got.Position)
			if err != nil {
				s.t.Fatal(err)
			}
			s.wrote(pos)
		}
	}
	return rec
}

// getJSON fetches an analysis and decodes it into v, failing on non-200.
func (s *system) getJSON(path string, v any) {
	s.t.Helper()
	rec := s.do(http.MethodGet, path, analystKey, nil)
	if rec.Code != http.StatusOK {
		s.t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body.String())
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// withPoolSize sets pgx's pool_max_conns on a database URL.
func withPoolSize(t testing.TB, raw string, n int) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(n))
	u.RawQuery = q.Encode()
	return u.String()
}
