package commands_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/pgstore/pgstoretest"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

var testIDKey = []byte("test-cardholder-id-key-0123456789")

// testRequestHashKey keys the idempotency table's request hashes.
var testRequestHashKey = []byte("test-idempotency-request-hash-key")

// API keys of the test clients.
const (
	keyAdmin   = "admin-key"
	keyCounter = "counter-key"
	keyBank    = "bank-key"
	keyAuditor = "auditor-key"
	keyAnalyst = "analyst-key"
	// Two clients of the e-card channel rsapp, one of icbc-app.
	keyRsapp   = "rsapp-key"
	keyRsapp2  = "rsapp-2-key"
	keyIcbcApp = "icbc-app-key"
)

type env struct {
	t     *testing.T
	store eventstore.Store
	pool  *pgxpool.Pool // the store's database
	srv   *httptest.Server
}

// envOption changes the env's wiring: wrap the store (piistore), then
// configure the API (identity source, photo store).
type envOption struct {
	wrap      func(t *testing.T, store eventstore.Store, pool *pgxpool.Pool) eventstore.Store
	configure func(api *commands.API)
}

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	url := testpg.NewDatabase(t)
	raw := pgstoretest.OpenURL(t, url)
	pool, err := pgxpool.New(ctx, url)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	require.NoError(t, commands.Migrate(ctx, pool))
	var store eventstore.Store = raw
	for _, o := range opts {
		if o.wrap != nil {
			store = o.wrap(t, store, pool)
		}
	}

	log := logrus.New()
	log.SetOutput(io.Discard)
	api, err := commands.NewAPI(store, pool, testIDKey, time.Now, log)
	require.NoError(t, err)
	t.Cleanup(api.Close)
	api.WithRequestHashKeys(testRequestHashKey)
	for _, o := range opts {
		if o.configure != nil {
			o.configure(api)
		}
	}
	auth := httpapi.StaticAuthenticator{
		keyAdmin:   {Client: "ops", Role: httpapi.RoleAdmin},
		keyCounter: {Client: "counter-futian", Role: httpapi.RoleCounter},
		keyBank:    {Client: "bank-102", Role: httpapi.RoleBank, Bank: "102"},
		keyAuditor: {Client: "audit", Role: httpapi.RoleAuditor},
		keyAnalyst: {Client: "stats", Role: httpapi.RoleAnalyst},
		keyRsapp:   {Client: "rsapp-1", Role: httpapi.RoleChannel, Channel: "rsapp"},
		keyRsapp2:  {Client: "rsapp-2", Role: httpapi.RoleChannel, Channel: "rsapp"},
		keyIcbcApp: {Client: "icbc-app-1", Role: httpapi.RoleChannel, Channel: "icbc-app"},
	}
	e := httpapi.NewServer(httpapi.Options{Auth: auth, Log: log}, api.Routes())
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return &env{t: t, store: store, pool: pool, srv: srv}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), string(r.Body))
}

func (r response) problem(t *testing.T) httpapi.Problem {
	t.Helper()
	require.Equal(t, httpapi.ProblemContentType, r.Header.Get("Content-Type"), string(r.Body))
	var p httpapi.Problem
	r.json(t, &p)
	return p
}

func (r response) command(t *testing.T) commands.CommandResponse {
	t.Helper()
	var c commands.CommandResponse
	r.json(t, &c)
	return c
}

// do sends a request; body is marshalled unless it is a string or nil.
func (e *env) do(method, path, key string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return response{Status: res.StatusCode, Header: res.Header, Body: raw}
}

// eventCount is the number of events in the whole store, counted in its
// table: a read of $all would lag behind open transactions (see
// eventstore/pgstore/visibility.go) and miss events just appended.
func (e *env) eventCount() int {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var n int
	require.NoError(e.t, e.pool.QueryRow(ctx, `SELECT count(*) FROM eventstore_events`).Scan(&n))
	return n
}

// streamLen is the number of events in the cardholder's stream, 0 when it
// has none. Stream reads see every committed event at once, unlike $all.
func (e *env) streamLen(cardholderID string) int {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	recs, err := e.store.ReadStream(ctx, domain.StreamFor(cardholderID), 0, 0)
	if errors.Is(err, eventstore.ErrStreamNotFound) {
		return 0
	}
	require.NoError(e.t, err)
	return len(recs)
}

// idNumber returns a valid ID number for person n (born 1990-03-07 in
// Shenzhen Futian; odd n is male).
func idNumber(n int) string {
	first := fmt.Sprintf("44030419900307%03d", n%1000)
	return first + string(domain.IDCheckChar(first))
}

func registerBody(n int) map[string]any {
	id := idNumber(n)
	return map[string]any{
		"id_number": id, "name": fmt.Sprintf("测试%d", n), "sex": string(domain.SexOf(id)),
		"nationality": "CHN", "region_code": "440304", "phone": "13800138000",
		"employer_code": "E1001", "community_code": "C2002",
	}
}

// register registers person n and returns the cardholder id.
func (e *env) register(n int) string {
	e.t.Helper()
	r := e.do(http.MethodPost, "/v1/cardholders", keyCounter, registerBody(n))
	require.Equal(e.t, http.StatusCreated, r.Status, string(r.Body))
	return r.command(e.t).CardholderID
}

// activeCard registers person n and instantly issues a card; it returns
// the cardholder id and the card number.
func (e *env) activeCard(n int) (string, string) {
	e.t.Helper()
	id := e.register(n)
	r := e.do(http.MethodPost, "/v1/cardholders/"+id+"/instant-issuance", keyBank, instantIssueBody())
	require.Equal(e.t, http.StatusOK, r.Status, string(r.Body))
	return id, r.command(e.t).CardNo
}

type history struct {
	Events []commands.HistoryEvent `json:"events"`
}

func (e *env) history(path string) (history, response) {
	e.t.Helper()
	r := e.do(http.MethodGet, path, keyAuditor, nil)
	require.Equal(e.t, http.StatusOK, r.Status, string(r.Body))
	var h history
	r.json(e.t, &h)
	return h, r
}

func types(h history) []string {
	out := make([]string, len(h.Events))
	for i, e := range h.Events {
		out[i] = e.Type
	}
	return out
}
