package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/internal/httpapi/openapitest"
)

// loginSession opens a session as the page does (no key).
func (r *ecardRig) loginSession() map[string]any {
	r.t.Helper()
	status, s := r.sendJSON(http.MethodPost, "/v1/ecard/login-sessions", "", nil)
	require.Equal(r.t, http.StatusCreated, status, "%v", s)
	return s
}

// poll reads a session with secret as the page does.
func (r *ecardRig) poll(id, secret string) (int, map[string]any) {
	r.t.Helper()
	req, err := http.NewRequestWithContext(r.ctx, http.MethodGet, r.url+"/v1/ecard/login-sessions/"+id, nil)
	require.NoError(r.t, err)
	req.Header.Set(ecard.PollSecretHeader, secret)
	res, err := http.DefaultClient.Do(req)
	require.NoError(r.t, err)
	defer res.Body.Close()
	var out map[string]any
	require.NoError(r.t, jsonDecode(res.Body, &out))
	return res.StatusCode, out
}

func (r *ecardRig) confirm(id, holder string) (int, map[string]any) {
	r.t.Helper()
	return r.sendJSON(http.MethodPost, "/v1/ecard/login-sessions/"+id+"/confirmation", "app", map[string]string{"cardholder_id": holder})
}

// loginAccesses are the holder's access records made by logins.
func (r *ecardRig) loginAccesses(holder string) []domain.ChannelAccessed {
	r.t.Helper()
	recs, err := r.b.d.store.ReadStream(r.ctx, domain.AccessStreamFor(holder), 0, 0)
	require.NoError(r.t, err)
	var out []domain.ChannelAccessed
	for _, rec := range recs {
		ev, err := domain.DecodeStoredECardEvent(rec.Type, rec.Data, rec.Metadata)
		require.NoError(r.t, err)
		if a := ev.(domain.ChannelAccessed); a.Operation == "login" {
			out = append(out, a)
		}
	}
	return out
}

// TestECardScanToLoginOverHTTP: a page's session is confirmed once by a
// channel for a holder bound to it under consent identity; the page then
// gets an assertion verifiable with the published keys, holding no ID
// number; unknown, expired and confirmed sessions are refused with their
// codes, and the login is an access record.
func TestECardScanToLoginOverHTTP(t *testing.T) {
	r := startECardRig(t)
	alice, _ := r.holder("11010519491231002X", "张三")

	s := r.loginSession()
	id, secret := s["session_id"].(string), s["poll_secret"].(string)
	assert.Equal(t, ecard.LoginMarker+id, s["qr_text"])
	assert.True(t, strings.HasPrefix(s["qr_image"].(string), "data:image/svg+xml;base64,"))
	assert.EqualValues(t, 120, s["ttl_seconds"])

	status, out := r.poll(id, secret)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, ecard.LoginPending, out["status"])
	status, out = r.poll(id, "not-the-page")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, ecard.CodeLoginSessionNotFound, out["code"], "someone who saw the QR code cannot poll")

	// Carol's channel has no identity consent; Dave is bound to no channel.
	carol := r.registerActive("110105198001011238", "王五")
	status, out = r.sendJSON(http.MethodPost, "/v1/ecard/bindings", "app", map[string]any{
		"id_number": "110105198001011238", "name": "王五", "scopes": []string{"card_status"}})
	require.Equal(t, http.StatusOK, status, "%v", out)
	status, out = r.confirm(id, carol)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, ecard.CodeConsentRequired, out["code"], "%v", out)

	dave := r.registerActive("110105194912310038", "李四")
	status, out = r.confirm(id, dave)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, ecard.CodeHolderNotBound, out["code"], "%v", out)

	// A suspended channel confirms nothing.
	status, out = r.sendJSON(http.MethodPost, "/v1/ecard/channels/"+rigChannel+"/suspension", "admin", map[string]string{"reason": "test"})
	require.Equal(t, http.StatusOK, status, "%v", out)
	status, out = r.confirm(id, alice)
	assert.Equal(t, http.StatusForbidden, status)
	assert.Equal(t, ecard.CodeChannelSuspended, out["code"], "%v", out)
	status, out = r.sendJSON(http.MethodPost, "/v1/ecard/channels/"+rigChannel+"/resumption", "admin", map[string]string{"reason": "test"})
	require.Equal(t, http.StatusOK, status, "%v", out)

	status, out = r.confirm(id, alice)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, "张*", out["name"])
	status, out = r.confirm(id, alice)
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, ecard.CodeLoginSessionConfirmed, out["code"])

	status, out = r.poll(id, secret)
	require.Equal(t, http.StatusOK, status, "%v", out)
	assert.Equal(t, ecard.LoginConfirmed, out["status"])
	token := out["assertion"].(string)
	keys, err := ecard.FetchKeys(r.ctx, http.DefaultClient, r.url, time.Now())
	require.NoError(t, err)
	a, err := ecard.VerifyAssertion(token, keys, r.clock())
	require.NoError(t, err, "the assertion verifies with GET /v1/ecard/keys")
	assert.Equal(t, "张*", a.Name)
	assert.Equal(t, rigChannel, a.Channel)
	assert.Equal(t, id, a.Session)
	assert.Len(t, a.Subject, 32)
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	require.NoError(t, err)
	for _, secret := range []string{"11010519491231002X", "张三", alice} {
		assert.NotContains(t, string(payload), secret, "the assertion shows no ID number, full name or holder id")
	}
	_, err = ecard.VerifyAssertion(token[:len(token)-4]+"AAAA", keys, r.clock())
	assert.ErrorIs(t, err, ecard.ErrAssertion, "a forged signature is refused")
	_, again := r.poll(id, secret)
	assert.Equal(t, token, again["assertion"], "each poll signs the same claims into the same token")
	var table string
	require.NoError(t, r.b.d.pool.QueryRow(r.ctx, `SELECT coalesce(string_agg(t::text, ' '), '') FROM ecard.login_sessions t`).Scan(&table))
	assert.NotContains(t, table, strings.Split(token, ".")[2], "the signed assertion is not stored: a reader of the table cannot log in with it")

	// Another login of Alice's has the same pseudonymous subject.
	s2 := r.loginSession()
	status, out = r.confirm(s2["session_id"].(string), alice)
	require.Equal(t, http.StatusOK, status, "%v", out)
	_, out = r.poll(s2["session_id"].(string), s2["poll_secret"].(string))
	assert.Equal(t, a.Subject, out["holder"].(map[string]any)["subject"])

	assert.Equal(t, []domain.ChannelAccessed{
		{CardholderID: alice, Channel: rigChannel, Scope: domain.ConsentIdentity, Operation: "login"},
		{CardholderID: alice, Channel: rigChannel, Scope: domain.ConsentIdentity, Operation: "login"},
	}, r.loginAccesses(alice), "each login is an access under consent identity")

	status, out = r.confirm("MFRGGZDFMZTWQ2LKNNWG23TPOA", alice)
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, ecard.CodeLoginSessionNotFound, out["code"])
	status, out = r.confirm("../../etc", alice)
	assert.Equal(t, http.StatusNotFound, status)

	late := r.loginSession()
	r.offset.Add(int64(121 * time.Second))
	status, out = r.confirm(late["session_id"].(string), alice)
	assert.Equal(t, http.StatusGone, status)
	assert.Equal(t, ecard.CodeLoginSessionExpired, out["code"])
	status, out = r.poll(late["session_id"].(string), late["poll_secret"].(string))
	assert.Equal(t, http.StatusGone, status)
	assert.Equal(t, ecard.CodeLoginSessionExpired, out["code"])
	assert.Len(t, r.loginAccesses(alice), 2, "a refused confirmation records no access")
}

// TestECardLoginPageInChromium: the page, in headless Chromium, shows a
// QR code that zbarimg reads as the marker and the session id shown; the
// test confirms the session as the channel; the page then shows the
// holder's masked name.
func TestECardLoginPageInChromium(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("chromium is not installed")
	}
	zbar, err := exec.LookPath("zbarimg")
	if err != nil {
		t.Skip("zbarimg missing: apt-get install zbar-tools (scripts/services.sh packages)")
	}
	r := startECardRig(t)
	alice, _ := r.holder("11010519491231002X", "张三")

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(800, 700))
	actx, cancel := chromedp.NewExecAllocator(r.ctx, opts...)
	defer cancel()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first action starts the browser: no timeout of its own (it would
	// end the browser with it); the rig's context bounds the whole test.
	require.NoError(t, chromedp.Do(bctx, chromedp.Navigate(r.url+"/ecard/login")))
	waitState := func(state string) {
		t.Helper()
		_, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.getElementById("status").dataset.state === "`+state+`"`,
			chromedp.WithPollingTimeout(20*time.Second)))
		if err != nil {
			text, _ := chromedp.Run(bctx, chromedp.Text("#status"))
			t.Fatalf("page state %q not reached: %v (status reads %q)", state, err, text)
		}
	}
	waitState("pending")
	session, err := chromedp.Run(bctx, chromedp.Text("#session"))
	require.NoError(t, err)
	sctx, scancel := context.WithTimeout(bctx, 20*time.Second)
	defer scancel()
	shot, err := chromedp.Run(sctx, chromedp.CaptureScreenshot()) // the viewport: zbarimg finds the QR code in it
	require.NoError(t, err)
	require.Len(t, session, 26)
	file := filepath.Join(t.TempDir(), "login-qr.png")
	require.NoError(t, os.WriteFile(file, shot, 0o600))
	scanned, err := exec.Command(zbar, "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file).Output()
	require.NoError(t, err, "zbarimg reads the page's QR code")
	assert.Equal(t, ecard.LoginMarker+session, strings.TrimRight(string(scanned), "\n"))

	// The holder confirms in the channel's app.
	status, out := r.confirm(session, alice)
	require.Equal(t, http.StatusOK, status, "%v", out)

	waitState("confirmed")
	shown, err := chromedp.Run(bctx, chromedp.Text("#status"))
	require.NoError(t, err)
	assert.Equal(t, "logged in as 张* (rsapp)", shown)
	assertion, err := chromedp.Run(bctx, chromedp.Evaluate[string](`window.cardledgerAssertion`))
	require.NoError(t, err)
	keys, err := ecard.FetchKeys(r.ctx, http.DefaultClient, r.url, time.Now())
	require.NoError(t, err)
	a, err := ecard.VerifyAssertion(assertion, keys, r.clock())
	require.NoError(t, err, "the page holds the signed assertion")
	assert.Equal(t, session, a.Session)
}

// TestLoginConfirmationRequiredFieldsAreTheDocuments: the confirmation's
// body without each of its fields is refused naming it exactly when the
// document says the field is required.
func TestLoginConfirmationRequiredFieldsAreTheDocuments(t *testing.T) {
	r := startECardRig(t)
	alice, _ := r.holder("11010519491231002X", "张三")
	_, doc := r.send(http.MethodGet, "/openapi.json", "", nil)
	spec, err := openapitest.Load(doc)
	require.NoError(t, err)
	n := 0
	for _, c := range openapitest.FieldCases(spec) {
		if c.Path != "/v1/ecard/login-sessions/{id}/confirmation" {
			continue
		}
		n++
		if _, ok := c.Body["cardholder_id"]; ok {
			c.Body["cardholder_id"] = alice
		}
		id := r.loginSession()["session_id"].(string)
		status, raw := r.send(http.MethodPost, strings.ReplaceAll(c.Path, "{id}", id), "app", c.Body)
		refused := status == http.StatusBadRequest && openapitest.NamesField(raw, c.Field)
		assert.Equal(t, c.Required, refused, "without %s (required: %v): %d %s", c.Field, c.Required, status, raw)
	}
	assert.Equal(t, 1, n, "the confirmation's body has one field")
}
