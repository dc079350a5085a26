package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// ecardRig is a running server (PostgreSQL only) whose e-card clock the
// test moves, with an admin, a channel ("rsapp"), a terminal and a
// blacklist consumer.
type ecardRig struct {
	t      *testing.T
	ctx    context.Context
	b      *booted
	url    string
	vars   map[string]string
	offset atomic.Int64 // added to time.Now by the e-card clock
	keys   map[string]string
}

const rigChannel = "rsapp"

func (r *ecardRig) clock() time.Time { return time.Now().Add(time.Duration(r.offset.Load())) }

// startECardRig boots the service as boot does, with the rig's clock as
// the e-card clock.
func startECardRig(t *testing.T) *ecardRig { return startECardRigWith(t, nil) }

// startECardRigWith is startECardRig with more settings (env var → value).
func startECardRigWith(t *testing.T, more map[string]string) *ecardRig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	r := &ecardRig{t: t, ctx: ctx, keys: map[string]string{},
		vars: map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "error", "CARDLEDGER_RATE_LIMIT": "0"}}
	for k, v := range more {
		r.vars[k] = v
	}
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return r.vars[k] }}
	require.Equal(t, 0, run(ctx, env, []string{"migrate"}))
	d, err := parseConfig(env, flag.NewFlagSet("test", flag.ContinueOnError), nil)
	require.NoError(t, err)
	a, err := buildApp(ctx, d)
	require.NoError(t, err)
	a.ecardClock = r.clock
	e, err := a.server(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	startProjections(runCtx, &wg, d, a.runner)
	startKeyListener(runCtx, &wg, d)
	r.b = &booted{d: d, a: a, e: e, srv: httptest.NewServer(e), stopProjections: func() { stop(); wg.Wait() }}
	t.Cleanup(func() { r.b.srv.Close(); r.b.stopProjections(); a.close() })
	r.url = r.b.srv.URL
	for _, c := range []auth.Client{
		{Name: "admin", Role: httpapi.RoleAdmin},
		{Name: "app", Role: httpapi.RoleChannel, Channel: rigChannel},
		{Name: "pharmacy", Role: httpapi.RoleTerminal, Agency: "H0001", Region: "320506"},
		{Name: "consumer", Role: httpapi.RoleBlacklistConsumer},
	} {
		key, err := auth.Add(ctx, d.pool, c)
		require.NoError(t, err)
		r.keys[c.Name] = key
	}
	return r
}

// send calls the server as client ("" for none) and returns the status and
// the raw body.
func (r *ecardRig) send(method, path, client string, body any) (int, []byte) {
	r.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(r.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.ctx, method, r.url+path, rd)
	require.NoError(r.t, err)
	if client != "" {
		req.Header.Set("Authorization", "Bearer "+r.keys[client])
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(r.t, err)
	return res.StatusCode, raw
}

// sendJSON is send decoding a JSON answer into a map.
func (r *ecardRig) sendJSON(method, path, client string, body any) (int, map[string]any) {
	r.t.Helper()
	status, raw := r.send(method, path, client, body)
	var out map[string]any
	if len(raw) > 0 {
		require.NoError(r.t, json.Unmarshal(raw, &out), "%s %s: %s", method, path, raw)
	}
	return status, out
}

// holder registers a cardholder with an active card bound to the rig's
// channel under consent identity; it returns the holder id and card number.
func (r *ecardRig) holder(idNumber, name string) (string, string) {
	r.t.Helper()
	id, card := r.registerActiveCard(idNumber, name)
	status, bound := r.sendJSON(http.MethodPost, "/v1/ecard/bindings", "app", map[string]any{
		"id_number": idNumber, "name": name, "scopes": []string{"identity", "card_status"}})
	require.Equal(r.t, http.StatusOK, status, "binding: %v", bound)
	return id, card
}

// registerActive registers a cardholder with an active card, bound to no
// channel; it returns the holder id.
func (r *ecardRig) registerActive(idNumber, name string) string {
	r.t.Helper()
	id, _ := r.registerActiveCard(idNumber, name)
	return id
}

func (r *ecardRig) registerActiveCard(idNumber, name string) (string, string) {
	r.t.Helper()
	sex := "female"
	if (idNumber[16]-'0')%2 == 1 {
		sex = "male"
	}
	status, reg := r.sendJSON(http.MethodPost, "/v1/cardholders", "admin", map[string]string{
		"id_number": idNumber, "name": name, "sex": sex, "nationality": "CHN",
		"region_code": "320506", "phone": "13800000000", "employer_code": "E001", "community_code": "C001",
	})
	require.Equal(r.t, http.StatusCreated, status, "%v", reg)
	id := reg["cardholder_id"].(string)
	status, issued := r.sendJSON(http.MethodPost, "/v1/cardholders/"+id+"/instant-issuance", "admin", map[string]string{
		"bank_code": "102", "account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	require.Equal(r.t, http.StatusOK, status, "%v", issued)
	card := issued["card_no"].(string)
	if status, body := r.sendJSON(http.MethodPost, "/v1/cards/"+card+"/activation", "admin", map[string]string{}); status != http.StatusOK {
		require.Equal(r.t, http.StatusConflict, status, "activation: %v", body)
	}
	return id, card
}

// chromium is the browser of the login page's test.
const chromium = "/usr/bin/chromium"

func jsonDecode(r io.Reader, v any) error { return json.NewDecoder(r).Decode(v) }

// code asks the channel for a code for holder.
func (r *ecardRig) code(holder string) string {
	r.t.Helper()
	status, out := r.sendJSON(http.MethodPost, "/v1/ecard/codes", "app", map[string]string{"cardholder_id": holder, "format": "svg"})
	require.Equal(r.t, http.StatusCreated, status, "%v", out)
	return out["code"].(string)
}
