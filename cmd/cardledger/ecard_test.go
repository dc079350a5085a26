package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/analytics/chtest"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// offsetClock is real time moved on by what a test adds: events keep
// their real order, codes and keys see the moved time.
type offsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *offsetClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// ecardHarness is the service wired as serve wires it, with the e-card
// clock injected, a holder with an active card, and the clients of the
// e-card: channels, terminals in two cities, a counter, an auditor.
type ecardHarness struct {
	t      testing.TB
	b      *booted
	clock  *offsetClock
	keys   map[string]string
	holder string
	card   string
	idNo   string
	name   string
}

const (
	ecardHolderRegion = "320506" // 苏州市吴中区
	otherCityRegion   = "110105" // 北京市朝阳区
)

func newECardHarness(t testing.TB, vars map[string]string) *ecardHarness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	if vars == nil {
		vars = map[string]string{}
	}
	if vars["CARDLEDGER_POSTGRES_URL"] == "" {
		vars["CARDLEDGER_POSTGRES_URL"] = testpg.NewDatabase(t)
	}
	vars["CARDLEDGER_LOG_LEVEL"] = "error"
	vars["CARDLEDGER_RATE_LIMIT"] = "0"
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	require.Equal(t, 0, run(ctx, env, []string{"migrate"}))
	h := &ecardHarness{t: t, clock: &offsetClock{}, keys: map[string]string{}, idNo: "11010519491231002X", name: "张三丰"}
	h.b = bootECard(t, ctx, env, h.clock.Now)
	for _, c := range []auth.Client{
		{Name: "admin", Role: httpapi.RoleAdmin},
		{Name: "counter", Role: httpapi.RoleCounter},
		{Name: "auditor", Role: httpapi.RoleAuditor},
		{Name: "rsapp", Role: httpapi.RoleChannel, Channel: "rsapp"},
		{Name: "bankapp", Role: httpapi.RoleChannel, Channel: "bankapp"},
		{Name: "hospital-1", Role: httpapi.RoleTerminal, Agency: "H001", Region: ecardHolderRegion},
		{Name: "pharmacy-2", Role: httpapi.RoleTerminal, Agency: "P002", Region: ecardHolderRegion},
		{Name: "beijing-3", Role: httpapi.RoleTerminal, Agency: "B003", Region: otherCityRegion},
	} {
		key, err := auth.Add(ctx, h.b.d.pool, c)
		require.NoError(t, err)
		h.keys[c.Name] = key
	}
	h.holder, h.card = h.addHolder(h.idNo, h.name)
	return h
}

// addHolder registers a holder of ecardHolderRegion and gives them an
// active card at the bank counter; it returns their id and card number.
func (h *ecardHarness) addHolder(idNo, name string) (holder, card string) {
	h.t.Helper()
	st, body := h.do(http.MethodPost, "/v1/cardholders", "admin", map[string]string{
		"id_number": idNo, "name": name, "sex": "female", "nationality": "CHN", "region_code": ecardHolderRegion,
		"phone": "13800000000", "employer_code": "E001", "community_code": "C001"})
	require.Equal(h.t, http.StatusCreated, st, "%s", body)
	var res struct {
		CardholderID string `json:"cardholder_id"`
		CardNo       string `json:"card_no"`
	}
	require.NoError(h.t, json.Unmarshal(body, &res))
	holder = res.CardholderID
	st, body = h.do(http.MethodPost, "/v1/cardholders/"+holder+"/instant-issuance", "admin",
		map[string]string{"bank_code": "102", "account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	require.Equal(h.t, http.StatusOK, st, "%s", body)
	require.NoError(h.t, json.Unmarshal(body, &res))
	return holder, res.CardNo
}

// bootECard is bootMigrated with the e-card clock set before the server
// is built.
func bootECard(t testing.TB, ctx context.Context, env *environment, clock func() time.Time) *booted {
	t.Helper()
	d, err := parseConfig(env, flag.NewFlagSet("test", flag.ContinueOnError), nil)
	require.NoError(t, err)
	a, err := buildApp(ctx, d)
	require.NoError(t, err)
	a.ecardClock = clock
	e, err := a.server(ctx)
	require.NoError(t, err)
	var wg sync.WaitGroup
	runCtx, stop := context.WithCancel(ctx)
	startProjections(runCtx, &wg, d, a.runner)
	var once sync.Once
	b := &booted{d: d, a: a, e: e, srv: httptest.NewServer(e), stopProjections: func() { once.Do(func() { stop(); wg.Wait() }) }}
	t.Cleanup(func() { b.srv.Close(); b.stopProjections(); a.close() })
	return b
}

func (h *ecardHarness) do(method, path, client string, body any) (int, []byte) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		raw, ok := body.([]byte)
		if !ok {
			var err error
			raw, err = json.Marshal(body)
			require.NoError(h.t, err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.b.srv.URL+path, rd)
	require.NoError(h.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if client != "" {
		req.Header.Set("Authorization", "Bearer "+h.keys[client])
	}
	res, err := ecardHTTP.Do(req)
	require.NoError(h.t, err)
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, raw
}

// ecardHTTP keeps connections to the test server open for many
// concurrent callers (the default keeps two idle per host).
var ecardHTTP = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

// bind is the channel's binding call (its real-name check passed): the
// holder's e-card is issued through channel, or bound to it, with consent
// to scopes.
func (h *ecardHarness) bind(channel string, scopes ...domain.ConsentScope) {
	h.t.Helper()
	h.bindHolder(channel, h.idNo, h.name, scopes...)
}

func (h *ecardHarness) bindHolder(channel, idNo, name string, scopes ...domain.ConsentScope) {
	h.t.Helper()
	st, body := h.do(http.MethodPost, "/v1/ecard/bindings", channel, map[string]any{"id_number": idNo, "name": name, "scopes": scopes})
	require.Equal(h.t, http.StatusOK, st, "%s", body)
}

type issued struct {
	Code       string `json:"code"`
	ExpiresAt  string `json:"expires_at"`
	TTLSeconds int    `json:"ttl_seconds"`
	Format     string `json:"format"`
	QRVersion  int    `json:"qr_version"`
	Image      string `json:"image"`
}

func (h *ecardHarness) issue(channel, format string) (int, issued, httpapi.Problem) {
	h.t.Helper()
	st, body := h.do(http.MethodPost, "/v1/ecard/codes", channel, map[string]string{"cardholder_id": h.holder, "format": format})
	var out issued
	var p httpapi.Problem
	if st == http.StatusCreated {
		require.NoError(h.t, json.Unmarshal(body, &out))
	} else {
		require.NoError(h.t, json.Unmarshal(body, &p), "%s", body)
	}
	return st, out, p
}

func (h *ecardHarness) mustIssue(channel string) string {
	h.t.Helper()
	st, out, p := h.issue(channel, "png")
	require.Equal(h.t, http.StatusCreated, st, "%+v", p)
	return out.Code
}

func (h *ecardHarness) verify(terminal string, code any) (int, ecard.Verified, httpapi.Problem) {
	h.t.Helper()
	var body any = map[string]any{"code": code}
	if raw, ok := code.([]byte); ok {
		body = raw
	}
	st, raw := h.do(http.MethodPost, "/v1/ecard/verify", terminal, body)
	var out ecard.Verified
	var p httpapi.Problem
	if st == http.StatusOK {
		require.NoError(h.t, json.Unmarshal(raw, &out))
	} else {
		require.NoError(h.t, json.Unmarshal(raw, &p), "%d %s", st, raw)
	}
	return st, out, p
}

func (h *ecardHarness) refused(terminal, code string, status int, problemCode string) {
	h.t.Helper()
	st, _, p := h.verify(terminal, code)
	require.Equal(h.t, status, st, "%+v", p)
	require.Equal(h.t, problemCode, p.Code, "%+v", p)
}

// head counts the stored events and the verified codes: what a refused
// request must leave as it found it. (Counted in the table: the store's
// Head only shows events older than every open transaction.)
func (h *ecardHarness) head() (events, verified int) {
	h.t.Helper()
	ctx := context.Background()
	require.NoError(h.t, h.b.d.pool.QueryRow(ctx, `SELECT count(*) FROM eventstore_events`).Scan(&events))
	require.NoError(h.t, h.b.d.pool.QueryRow(ctx, `SELECT count(*) FROM ecard.verifications`).Scan(&verified))
	return events, verified
}

// TestECardEndToEnd: a channel binds a holder under consent, makes a code,
// a terminal verifies it once (replays refused, from any terminal); a loss
// report refuses the outstanding code and new ones at once; after the
// unlock a new code verifies; each verification is one identity_auth
// usage record (channel ecard_qr); verifications in two cities within the
// window raise ECardRiskAlerted, shown in the audit trail.
func TestECardEndToEnd(t *testing.T) {
	h := newECardHarness(t, nil)

	// Not bound yet, then bound without identity consent.
	st, _, p := h.issue("rsapp", "png")
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, ecard.CodeHolderNotBound, p.Code)
	h.bind("bankapp", domain.ConsentCardStatus)
	st, _, p = h.issue("bankapp", "png")
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, ecard.CodeConsentRequired, p.Code)

	h.bind("rsapp", domain.ConsentIdentity)
	st, out, p := h.issue("rsapp", "png")
	require.Equal(t, http.StatusCreated, st, "%+v", p)
	assert.Equal(t, 60, out.TTLSeconds)
	assert.LessOrEqual(t, out.QRVersion, ecard.MaxQRVersion)
	exp, err := time.Parse(time.RFC3339, out.ExpiresAt)
	require.NoError(t, err)
	assert.WithinDuration(t, h.clock.Now().Add(time.Minute), exp, 2*time.Second)
	png, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(out.Image, "data:image/png;base64,"))
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "image is a PNG data URL")
	st, svg, _ := h.issue("rsapp", "svg")
	require.Equal(t, http.StatusCreated, st)
	require.True(t, strings.HasPrefix(svg.Image, "data:image/svg+xml;base64,"))

	// Verify once; replays refused from this and another terminal.
	st, v, p := h.verify("hospital-1", out.Code)
	require.Equal(t, http.StatusOK, st, "%+v", p)
	assert.Equal(t, ecard.Verified{CardNo: h.card, Name: "张**", IDNumber: "110***********002X", CardStatus: "active",
		Channel: "rsapp", VerifiedAt: v.VerifiedAt, VerificationID: v.VerificationID}, v)
	pos, n := h.head()
	h.refused("hospital-1", out.Code, http.StatusConflict, ecard.CodeUsed)
	h.refused("pharmacy-2", out.Code, http.StatusConflict, ecard.CodeUsed)
	pos2, n2 := h.head()
	assert.Equal(t, pos, pos2, "a replay appends nothing")
	assert.Equal(t, n, n2)

	// The counter reports the card lost: the outstanding code and a new one fail at once.
	outstanding := h.mustIssue("rsapp")
	st, body := h.do(http.MethodPost, "/v1/cards/"+h.card+"/loss", "counter", map[string]string{"reason": "lost on the bus"})
	require.Equal(t, http.StatusOK, st, "%s", body)
	h.refused("pharmacy-2", outstanding, http.StatusConflict, ecard.CodeCardNotUsable)
	st, _, p = h.issue("rsapp", "png")
	require.Equal(t, http.StatusConflict, st)
	require.Equal(t, ecard.CodeCardNotUsable, p.Code)
	st, body = h.do(http.MethodPost, "/v1/cards/"+h.card+"/unlock", "counter", map[string]string{"reason": "found it"})
	require.Equal(t, http.StatusOK, st, "%s", body)
	st, _, p = h.verify("pharmacy-2", h.mustIssue("rsapp"))
	require.Equal(t, http.StatusOK, st, "%+v", p)

	// Two verifications each left one identity_auth usage record, ecard_qr.
	usage := h.usageRecords()
	require.Len(t, usage, 2)
	for _, u := range usage {
		assert.Equal(t, domain.UsageIdentityAuth, u.Kind)
		assert.Equal(t, domain.ChannelECardQR, u.Channel)
		assert.Equal(t, h.card, u.CardNo)
		assert.Equal(t, ecardHolderRegion, u.RegionCode)
	}

	// The same holder's code verified in Beijing within the window: an alert.
	st, _, p = h.verify("beijing-3", h.mustIssue("rsapp"))
	require.Equal(t, http.StatusOK, st, "%+v", p)
	alert := h.holderEvent("ECardRiskAlerted")
	require.NotNil(t, alert, "ECardRiskAlerted on the holder's stream")
	var a domain.ECardRiskAlerted
	require.NoError(t, json.Unmarshal(alert.Data, &a))
	assert.Equal(t, ecardHolderRegion, a.FirstRegion)
	assert.Equal(t, otherCityRegion, a.SecondRegion)
	assert.Equal(t, "pharmacy-2", a.FirstTerminal)
	assert.Equal(t, "beijing-3", a.SecondTerminal)
	// One alert per move: another code in Beijing adds none, one back in
	// Suzhou adds the second.
	st, _, p = h.verify("beijing-3", h.mustIssue("rsapp"))
	require.Equal(t, http.StatusOK, st, "%+v", p)
	assert.Equal(t, 1, h.countHolderEvents("ECardRiskAlerted"))
	st, _, p = h.verify("hospital-1", h.mustIssue("rsapp"))
	require.Equal(t, http.StatusOK, st, "%+v", p)
	assert.Equal(t, 2, h.countHolderEvents("ECardRiskAlerted"))
	require.Eventually(t, func() bool {
		st, body := h.do(http.MethodGet, "/v1/audit?actor=beijing-3", "auditor", nil)
		return st == http.StatusOK && strings.Contains(string(body), `"ECardRiskAlerted"`)
	}, time.Minute, 100*time.Millisecond, "the alert shows in GET /v1/audit")
}

// usageRecords are the usage events of the harness card this month.
func (h *ecardHarness) usageRecords() []domain.UsageRecorded {
	h.t.Helper()
	recs, err := h.b.d.store.ReadStream(context.Background(), domain.UsageStream(h.card, time.Now()), 0, 1000)
	require.NoError(h.t, err)
	var out []domain.UsageRecorded
	for _, r := range recs {
		var u domain.UsageRecorded
		require.NoError(h.t, json.Unmarshal(r.Data, &u))
		out = append(out, u)
	}
	return out
}

func (h *ecardHarness) countHolderEvents(typ string) int {
	h.t.Helper()
	l, err := h.b.a.commands.Service().Repository.Load(context.Background(), h.holder)
	require.NoError(h.t, err)
	n := 0
	for _, r := range l.Recorded {
		if r.Type == typ {
			n++
		}
	}
	return n
}

func (h *ecardHarness) holderEvent(typ string) *eventstore.RecordedEvent {
	h.t.Helper()
	l, err := h.b.a.commands.Service().Repository.Load(context.Background(), h.holder)
	require.NoError(h.t, err)
	for i := range l.Recorded {
		if l.Recorded[i].Type == typ {
			return &l.Recorded[i]
		}
	}
	return nil
}

// TestECardBadInput: every malformed, forged, foreign, oversized or
// expired code is a 4xx problem with its stable code, appends nothing and
// is never a 5xx.
func TestECardBadInput(t *testing.T) {
	h := newECardHarness(t, nil)
	h.bind("rsapp", domain.ConsentIdentity)
	good := h.mustIssue("rsapp")

	// A code of another key: right layout, unknown key id.
	_, foreign, _ := ed25519.GenerateKey(rand.Reader)
	claims, _, _, err := ecard.Decode(good)
	require.NoError(t, err)
	claims.KeyID++
	another, err := ecard.Encode(claims, foreign)
	require.NoError(t, err)
	// A code of the right key id signed by another key.
	claims.KeyID--
	forged, err := ecard.Encode(claims, foreign)
	require.NoError(t, err)

	cases := []struct {
		name   string
		code   any
		status int
		code2  string
	}{
		{"truncated", good[:len(good)-3], 400, ecard.CodeMalformed},
		{"padded", good + "====", 400, ecard.CodeMalformed},
		{"lower-cased", strings.ToLower(good), 400, ecard.CodeMalformed},
		{"whitespace around", " " + good + "\n", 400, ecard.CodeMalformed},
		{"oversized", strings.Repeat("A", ecard.MaxCodeLen+8), 400, ecard.CodeMalformed},
		{"garbage", "这不是一个码", 400, ecard.CodeMalformed},
		{"empty", "", 400, ecard.CodeMalformed},
		{"another key's", another, 422, ecard.CodeBadSignature},
		{"forged with the right key id", forged, 422, ecard.CodeBadSignature},
		{"a number", []byte(`{"code": 42}`), 400, "wrong_type"},
		{"unknown field", []byte(`{"code": "X", "pin": "1234"}`), 400, "unknown_field"},
		{"not JSON", []byte(`code=X`), 400, "malformed_json"},
		{"huge body", []byte(`{"code": "` + strings.Repeat("A", 8<<10) + `"}`), 413, "body_too_large"},
	}
	pos, n := h.head()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, _, p := h.verify("hospital-1", tc.code)
			assert.Equal(t, tc.status, st, "%+v", p)
			assert.Equal(t, tc.code2, p.Code, "%+v", p)
		})
	}
	pos2, n2 := h.head()
	assert.Equal(t, pos, pos2, "refused codes append nothing")
	assert.Equal(t, n, n2, "refused codes claim nothing")

	// Bad issuance requests.
	for _, body := range []any{map[string]string{"cardholder_id": h.holder, "format": "gif"}, map[string]string{"format": "png"},
		map[string]string{"cardholder_id": "nobody"}, []byte(`{"cardholder_id": 7}`)} {
		st, raw := h.do(http.MethodPost, "/v1/ecard/codes", "rsapp", body)
		assert.True(t, st >= 400 && st < 500, "%v → %d %s", body, st, raw)
	}
	// The good code still verifies: nothing above consumed it.
	st, _, p := h.verify("hospital-1", good)
	require.Equal(t, http.StatusOK, st, "%+v", p)
}

// TestECardExpiryAndRotation: a code is refused once expired (injected
// clock); after `ecard keys rotate` the new key signs at once, an old-key
// code verifies during the overlap and is code_bad_signature after the old
// key's retirement; the key endpoint (no key needed) lists both, then one.
func TestECardExpiryAndRotation(t *testing.T) {
	h := newECardHarness(t, nil)
	h.bind("rsapp", domain.ConsentIdentity)

	expiring := h.mustIssue("rsapp")
	h.clock.Add(61 * time.Second)
	h.refused("hospital-1", expiring, http.StatusUnprocessableEntity, ecard.CodeExpired)

	keys := func() ecard.KeysResponse {
		st, body := h.do(http.MethodGet, "/v1/ecard/keys", "", nil)
		require.Equal(t, http.StatusOK, st, "%s", body)
		var out ecard.KeysResponse
		require.NoError(t, json.Unmarshal(body, &out))
		return out
	}
	before := keys().Keys
	require.Len(t, before, 1)
	require.Nil(t, before[0].NotAfter)

	oldDuringOverlap, oldAfterRetirement := h.mustIssue("rsapp"), h.mustIssue("rsapp")
	store, err := h.b.d.ecardKeyStore(h.clock.Now)
	require.NoError(t, err)
	const overlap = 3 * time.Minute
	newKey, err := store.Rotate(context.Background(), overlap, time.Minute)
	require.NoError(t, err)
	h.clock.Add(ecard.DefaultRefresh + time.Second) // the server's key ring reads the table again

	during := keys().Keys
	require.Len(t, during, 2)
	assert.Equal(t, newKey.ID.String(), during[0].KID)
	assert.Nil(t, during[0].NotAfter)
	assert.Equal(t, before[0].KID, during[1].KID)
	require.NotNil(t, during[1].NotAfter)
	st, _, p := h.verify("hospital-1", oldDuringOverlap)
	require.Equal(t, http.StatusOK, st, "an old-key code during the overlap: %+v", p)
	fresh := h.mustIssue("rsapp")
	c, _, _, err := ecard.Decode(fresh)
	require.NoError(t, err)
	assert.Equal(t, newKey.ID, c.KeyID, "the new key signs at once")
	// A verifier holding only the published keys accepts both keys' codes.
	published, err := ecard.ParsePublishedKeys(keys())
	require.NoError(t, err)
	_, err = ecard.Parse(fresh, published, h.clock.Now())
	require.NoError(t, err)
	_, err = ecard.Parse(oldAfterRetirement, published, h.clock.Now())
	require.NoError(t, err, "an old-key code during the overlap, offline")

	h.clock.Add(overlap)
	h.refused("hospital-1", oldAfterRetirement, http.StatusUnprocessableEntity, ecard.CodeBadSignature)
	after := keys().Keys
	require.Len(t, after, 1)
	assert.Equal(t, newKey.ID.String(), after[0].KID)
	st, _, p = h.verify("hospital-1", h.mustIssue("rsapp"))
	require.Equal(t, http.StatusOK, st, "a new-key code after the retirement: %+v", p)
}

// TestECardChannelSuspensionAndUnbinding: an administrator's suspension
// refuses every outstanding code of the channel and new ones at once,
// leaves other channels' codes alone, and its resumption lets them verify
// again; a code whose channel binding ended is refused. Every code made
// is a consented access (ChannelAccessed) in the audit trail.
func TestECardChannelSuspensionAndUnbinding(t *testing.T) {
	h := newECardHarness(t, nil)
	h.bind("rsapp", domain.ConsentIdentity)
	h.bind("bankapp", domain.ConsentIdentity)
	rsCode, bankCode := h.mustIssue("rsapp"), h.mustIssue("bankapp")

	st, body := h.do(http.MethodPost, "/v1/ecard/channels/rsapp/suspension", "admin", map[string]string{"reason": "leaked keys"})
	require.Equal(t, http.StatusOK, st, "%s", body)
	events, verified := h.head()
	h.refused("hospital-1", rsCode, http.StatusForbidden, ecard.CodeChannelSuspended)
	st, _, p := h.issue("rsapp", "png")
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, ecard.CodeChannelSuspended, p.Code)
	events2, verified2 := h.head()
	assert.Equal(t, events, events2, "refusals append nothing")
	assert.Equal(t, verified, verified2)
	st, _, p = h.verify("hospital-1", bankCode)
	require.Equal(t, http.StatusOK, st, "another channel's code: %+v", p)

	st, body = h.do(http.MethodPost, "/v1/ecard/channels/rsapp/resumption", "admin", map[string]string{"reason": "keys rotated"})
	require.Equal(t, http.StatusOK, st, "%s", body)
	st, _, p = h.verify("hospital-1", rsCode)
	require.Equal(t, http.StatusOK, st, "after the resumption: %+v", p)

	outstanding := h.mustIssue("bankapp")
	st, body = h.do(http.MethodPost, "/v1/cardholders/"+h.holder+"/ecard/unbinding", "bankapp", map[string]string{"channel": "bankapp", "reason": "uninstalled"})
	require.Equal(t, http.StatusOK, st, "%s", body)
	h.refused("hospital-1", outstanding, http.StatusForbidden, ecard.CodeHolderNotBound)
	st, _, p = h.issue("bankapp", "png")
	require.Equal(t, http.StatusForbidden, st)
	require.Equal(t, ecard.CodeHolderNotBound, p.Code)

	require.Eventually(t, func() bool {
		st, body := h.do(http.MethodGet, "/v1/audit?actor=rsapp", "auditor", nil)
		return st == http.StatusOK && strings.Contains(string(body), `"ChannelAccessed"`)
	}, time.Minute, 100*time.Millisecond, "a code made is a consented access in GET /v1/audit")
}

// TestECardVerifiesOnceAcrossInstances: two servers on one database, the
// same code sent to both by 8 terminals at once: exactly one 200, every
// other answer code_used, one usage record.
func TestECardVerifiesOnceAcrossInstances(t *testing.T) {
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t)}
	h := newECardHarness(t, vars)
	h.bind("rsapp", domain.ConsentIdentity)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	second := bootECard(t, ctx, env, h.clock.Now)
	servers := []string{h.b.srv.URL, second.srv.URL}

	for round := range 3 {
		code := h.mustIssue("rsapp")
		statuses := make([]int, 8)
		codes := make([]string, 8)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				terminal := []string{"hospital-1", "pharmacy-2"}[i%2]
				raw, _ := json.Marshal(map[string]string{"code": code})
				req, _ := http.NewRequest(http.MethodPost, servers[i%2]+"/v1/ecard/verify", bytes.NewReader(raw))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+h.keys[terminal])
				res, err := ecardHTTP.Do(req)
				if err != nil {
					return
				}
				defer res.Body.Close()
				var p httpapi.Problem
				_ = json.NewDecoder(res.Body).Decode(&p)
				statuses[i], codes[i] = res.StatusCode, p.Code
			}()
		}
		wg.Wait()
		ok := 0
		for i, st := range statuses {
			if st == http.StatusOK {
				ok++
				continue
			}
			assert.Equal(t, http.StatusConflict, st, "round %d answer %d", round, i)
			assert.Equal(t, ecard.CodeUsed, codes[i], "round %d answer %d", round, i)
		}
		assert.Equal(t, 1, ok, "round %d: exactly one verification", round)
	}
	assert.Len(t, h.usageRecords(), 3, "one usage record per code")
}

// TestECardVerificationCountedByAnalytics: with ClickHouse, a verified
// code shows in the card's use history as identity_auth over ecard_qr, at
// the terminal's region and agency, under the record id derived from the
// code id.
func TestECardVerificationCountedByAnalytics(t *testing.T) {
	h := newECardHarness(t, map[string]string{"CARDLEDGER_CLICKHOUSE_URL": chtest.NewDatabase(t)})
	key, err := auth.Add(context.Background(), h.b.d.pool, auth.Client{Name: "analyst", Role: httpapi.RoleAnalyst})
	require.NoError(t, err)
	h.keys["analyst"] = key
	h.bind("rsapp", domain.ConsentIdentity)
	code := h.mustIssue("rsapp")
	st, _, p := h.verify("hospital-1", code)
	require.Equal(t, http.StatusOK, st, "%+v", p)
	c, _, _, err := ecard.Decode(code)
	require.NoError(t, err)

	var uses struct {
		Uses []struct {
			RecordID   string `json:"record_id"`
			Kind       string `json:"kind"`
			Channel    string `json:"channel"`
			RegionCode string `json:"region_code"`
			Merchant   string `json:"merchant"`
		} `json:"uses"`
	}
	require.Eventually(t, func() bool {
		st, body := h.do(http.MethodGet, "/v1/analytics/cards/"+h.card+"/history", "analyst", nil)
		return st == http.StatusOK && json.Unmarshal(body, &uses) == nil && len(uses.Uses) == 1
	}, time.Minute, 200*time.Millisecond, "analytics has the verification")
	u := uses.Uses[0]
	assert.Equal(t, ecard.UsageRecordID(c.CodeID), u.RecordID)
	assert.Equal(t, "identity_auth", u.Kind)
	assert.Equal(t, "ecard_qr", u.Channel)
	assert.Equal(t, ecardHolderRegion, u.RegionCode)
	assert.Equal(t, "H001", u.Merchant)
}

// TestECardKeysCommand: `ecard keys rotate` refuses an overlap shorter
// than the code lifetime plus the clock skew, rotates with a valid one
// (the old key then retires at the overlap's end), and `ecard keys list`
// shows both.
func TestECardKeysCommand(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "error"}
	var stdout, stderr bytes.Buffer
	env := &environment{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	require.Equal(t, 0, run(ctx, env, []string{"migrate"}))
	stdout.Reset()
	require.Equal(t, 0, run(ctx, env, []string{"ecard", "keys", "list"}))
	first := strings.TrimSpace(stdout.String())
	require.Equal(t, 1, strings.Count(first, "\n")+1, "migrate made one key: %s", first)
	require.Contains(t, first, "signing")

	require.Equal(t, 1, run(ctx, env, []string{"ecard", "keys", "rotate", "--overlap", "2m"}), "2m < 60s + 2m")
	require.Contains(t, stderr.String(), "shorter than")
	stdout.Reset()
	require.Equal(t, 0, run(ctx, env, []string{"ecard", "keys", "rotate", "--overlap", "1h"}), stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 2)
	assert.Contains(t, lines[0], "signing")
	assert.Contains(t, lines[1], "retires")
	assert.Equal(t, strings.Fields(first)[0], strings.Fields(lines[1])[0], "the old key is the one retiring")
	require.Equal(t, 2, run(ctx, env, []string{"ecard", "keys", "burn"}))
}
