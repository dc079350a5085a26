package ecard

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cardledger/cardledger/readapi/blacklistsync"
)

// offlineDir writes a keys file (fetched at fetched, listing key
// 0x0a0b0c0d, retired at retired unless zero) and a blacklist copy
// (synced at synced, listing card B00000001 as lost).
func offlineDir(t *testing.T, fetched, retired, synced time.Time) string {
	t.Helper()
	dir := t.TempDir()
	kv := KeyView{KID: KeyID(0x0a0b0c0d).String(), Alg: "Ed25519", NotBefore: codeNow.Add(-time.Hour).Format(time.RFC3339),
		PublicKey: base64.RawURLEncoding.EncodeToString(testKey(0).Public().(ed25519.PublicKey))}
	if !retired.IsZero() {
		s := retired.Format(time.RFC3339)
		kv.NotAfter = &s
	}
	f := &KeysFile{Format: keysFileFormat, Server: "http://ledger", FetchedAt: fetched, Keys: []KeyView{kv}}
	if err := f.Save(dir); err != nil {
		t.Fatal(err)
	}
	cp := &blacklistsync.Copy{Seq: 7, SyncedAt: synced, Entries: map[string]blacklistsync.Entry{
		"B00000001": {CardNo: "B00000001", Reason: "lost", Since: codeNow.Add(-time.Hour)}}}
	if err := cp.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestOfflineCheck: each offline answer, with the server's codes, and
// "unknown" wherever the copies cannot vouch.
func TestOfflineCheck(t *testing.T) {
	fresh := codeNow.Add(-time.Minute)
	dir := offlineDir(t, fresh, time.Time{}, fresh)
	valid := mustEncode(t, testClaims("rsapp"), testKey(0))
	lost := testClaims("rsapp")
	lost.CardNo = "B00000001"
	otherKey := testClaims("rsapp")
	otherKey.KeyID = 0x01020304
	expiredBeforeFetch := otherKey
	expiredBeforeFetch.Expiry = fresh.Add(-time.Hour)
	at := func(now time.Time) *CodeChecker {
		return &CodeChecker{Dir: dir, MaxAge: 24 * time.Hour, Now: func() time.Time { return now }}
	}
	for _, c := range []struct {
		name, code       string
		now              time.Time
		decision, reason string
		problem          string
	}{
		{"valid", valid, codeNow, CheckAccepted, "not_listed", ""},
		{"listed card", mustEncode(t, lost, testKey(0)), codeNow, CheckRefused, "blacklisted:lost", CodeCardNotUsable},
		{"wrong key", mustEncode(t, testClaims("rsapp"), testKey(1)), codeNow, CheckRefused, "", CodeBadSignature},
		{"expired", valid, codeNow.Add(2 * time.Minute), CheckRefused, "", CodeExpired},
		{"malformed", valid[:len(valid)-3], codeNow, CheckRefused, "", CodeMalformed},
		// A key the copy lacks may be newer than the fetch: no answer.
		{"key newer than the fetch", mustEncode(t, otherKey, testKey(1)), codeNow, CheckUnknown, "offline_keys_lack_key", ""},
		// A code that expired before the fetch had its key published then.
		{"unknown key of an old code", mustEncode(t, expiredBeforeFetch, testKey(1)), codeNow, CheckRefused, "", CodeBadSignature},
		{"stale keys", valid, fresh.Add(25 * time.Hour), CheckUnknown, "offline_keys_stale", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := at(c.now).Offline(c.code)
			if got.Decision != c.decision || got.Code != c.problem || !strings.HasPrefix(got.Reason, c.reason) {
				t.Fatalf("got %s %s %q; want %s %s %q", got.Decision, got.Code, got.Reason, c.decision, c.problem, c.reason)
			}
			if got.ReuseChecked || !strings.Contains(got.Notice, "reuse cannot be detected offline") {
				t.Errorf("an offline answer must say reuse is not checked: %+v", got)
			}
			if want := CheckSourceOffline; c.decision != CheckUnknown && got.Source != want {
				t.Errorf("source %s, want %s", got.Source, want)
			}
			if c.decision == CheckUnknown && got.Source != CheckSourceNone {
				t.Errorf("an unknown answer names no source: %+v", got)
			}
		})
	}

	t.Run("retired key", func(t *testing.T) {
		dir := offlineDir(t, fresh, codeNow.Add(-time.Second), fresh)
		got := (&CodeChecker{Dir: dir, Now: func() time.Time { return codeNow }}).Offline(valid)
		if got.Decision != CheckRefused || got.Code != CodeBadSignature {
			t.Fatalf("got %+v; want refused code_bad_signature", got)
		}
	})
	t.Run("stale blacklist copy", func(t *testing.T) {
		dir := offlineDir(t, fresh, time.Time{}, codeNow.Add(-48*time.Hour))
		c := &CodeChecker{Dir: dir, MaxAge: 24 * time.Hour, Now: func() time.Time { return codeNow }}
		if got := c.Offline(valid); got.Decision != CheckUnknown || !strings.HasPrefix(got.Reason, "offline_copy_stale") {
			t.Fatalf("got %+v; want unknown, stale copy", got)
		}
		if got := c.Offline(mustEncode(t, lost, testKey(0))); got.Decision != CheckRefused || got.Code != CodeCardNotUsable {
			t.Fatalf("got %+v; a listed card is refused however old the copy", got)
		}
	})
}

// TestOnlineFallsBackOnlyWhenTheServerDoesNotAnswer: 5xx, 429 and 401
// send the check offline; a problem with a code is the server's refusal.
func TestOnlineFallsBackOnlyWhenTheServerDoesNotAnswer(t *testing.T) {
	fresh := codeNow.Add(-time.Minute)
	dir := offlineDir(t, fresh, time.Time{}, fresh)
	valid := mustEncode(t, testClaims("rsapp"), testKey(0))
	for _, c := range []struct {
		status         int
		body           string
		source, answer string
	}{
		{http.StatusServiceUnavailable, `{"code":"dependency_unavailable"}`, CheckSourceOffline, CheckAccepted},
		{http.StatusTooManyRequests, `{"code":"rate_limited"}`, CheckSourceOffline, CheckAccepted},
		{http.StatusUnauthorized, `{"code":"unauthenticated"}`, CheckSourceOffline, CheckAccepted},
		{http.StatusForbidden, `{"code":"forbidden"}`, CheckSourceOffline, CheckAccepted},
		{http.StatusForbidden, `{"code":"holder_not_bound"}`, CheckSourceServer, CheckRefused},
		{http.StatusConflict, `{"code":"code_used","detail":"the code was verified already"}`, CheckSourceServer, CheckRefused},
		{http.StatusOK, `{"card_no":"A10984916","name":"张*","card_status":"active","channel":"rsapp"}`, CheckSourceServer, CheckAccepted},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/v1/ecard/verify" || r.Header.Get("Authorization") != "Bearer k" {
				t.Errorf("request %s %s", r.URL.Path, r.Header.Get("Authorization"))
			}
			w.WriteHeader(c.status)
			w.Write([]byte(c.body))
		}))
		got := (&CodeChecker{Server: srv.URL, Key: "k", Dir: dir, Now: func() time.Time { return codeNow }}).Check(t.Context(), valid)
		srv.Close()
		if got.Source != c.source || got.Decision != c.answer {
			t.Errorf("%d: got %s from %s, want %s from %s (%+v)", c.status, got.Decision, got.Source, c.answer, c.source, got)
		}
		if got.Source == CheckSourceOffline && got.ServerError == "" {
			t.Errorf("%d: the server's failure is not reported", c.status)
		}
	}
}
