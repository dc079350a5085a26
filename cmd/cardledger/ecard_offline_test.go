package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/ecard"
	"github.com/cardledger/cardledger/readapi/blacklistsync"
)

// tamper changes one character in the signature part of a code, keeping
// it canonical base32: the code parses, its signature does not verify.
func tamper(code string) string {
	b := []byte(code)
	i := len(b) - 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestECardVerifyOfflineWithTheServerStopped: codes are made and refused
// online by a real server, the keys and the blacklist are copied, the
// server stops; `cardledger ecard verify` then answers from the copies,
// naming them and saying reuse cannot be detected, with the online codes
// for every refusal, and a stale copy never accepts.
func TestECardVerifyOfflineWithTheServerStopped(t *testing.T) {
	r := startECardRig(t)
	alice, _ := r.holder("11010519491231002X", "张三")
	bob, bobCard := r.holder("110105194912310038", "李四")

	oldKeyCode := r.code(alice) // signed by the first key
	store, err := r.b.d.ecardKeyStore(r.clock)
	require.NoError(t, err)
	_, err = store.Rotate(r.ctx, 3*time.Minute, time.Minute)
	require.NoError(t, err)
	retiredAt := r.clock().Add(3 * time.Minute)
	r.offset.Add(int64(11 * time.Second)) // past the ring's refresh: the new key signs
	valid := r.code(alice)
	bobs := r.code(bob)
	expiring := r.code(alice)
	forged := tamper(valid)
	require.NotEqual(t, valid[:8], oldKeyCode[:8], "the rotation changed the key id")

	status, out := r.sendJSON(http.MethodPost, "/v1/cards/"+bobCard+"/loss", "admin", map[string]string{})
	require.Equal(t, http.StatusOK, status, "%v", out)
	require.Eventually(t, func() bool {
		_, bl := r.sendJSON(http.MethodGet, "/v1/blacklist/"+bobCard, "consumer", nil)
		return bl["listed"] == true
	}, time.Minute, 50*time.Millisecond, "the blacklist lists Bob's card")

	// The copies, as the services next to cardbridge keep them.
	dir := t.TempDir()
	vars := map[string]string{"CARDLEDGER_SERVER_URL": r.url, "CARDLEDGER_API_KEY": r.keys["consumer"], "CARDLEDGER_LOG_LEVEL": "error"}
	code, stdout, stderr := cliRun(r.ctx, vars, "blacklist", "sync", "--dir", dir, "--once")
	require.Equal(t, 0, code, "%s%s", stdout, stderr)
	code, stdout, stderr = cliRun(r.ctx, vars, "ecard", "keys", "fetch", "--dir", dir)
	require.Equal(t, 0, code, "%s%s", stdout, stderr)
	require.Contains(t, stdout, "fetched 2 keys")
	cp, err := blacklistsync.Load(dir)
	require.NoError(t, err)

	// Online refusals, for the codes the offline ones must match.
	online := &ecard.CodeChecker{Server: r.url, Key: r.keys["pharmacy"], Client: &http.Client{Timeout: 5 * time.Second}}
	wantOnline := func(code, want string) {
		t.Helper()
		res, err := online.Online(r.ctx, code)
		require.NoError(t, err)
		assert.Equal(t, ecard.CheckRefused, res.Decision, "%+v", res)
		assert.Equal(t, want, res.Code, "%+v", res)
		assert.Equal(t, ecard.CheckSourceServer, res.Source)
	}
	wantOnline(forged, ecard.CodeBadSignature)
	wantOnline(bobs, ecard.CodeCardNotUsable)
	wantOnline("AEFAWDANN", ecard.CodeMalformed)
	later := retiredAt.Add(time.Second).Sub(r.clock())
	r.offset.Add(int64(later)) // the old key is retired, the others expired
	wantOnline(oldKeyCode, ecard.CodeBadSignature)
	wantOnline(expiring, ecard.CodeExpired)
	r.offset.Add(-int64(later))

	r.b.srv.Close() // the server is gone

	terminal := map[string]string{"CARDLEDGER_SERVER_URL": r.url, "CARDLEDGER_API_KEY": r.keys["pharmacy"], "CARDLEDGER_LOG_LEVEL": "error"}
	verify := func(code string, args ...string) (int, ecard.CodeCheck) {
		t.Helper()
		exit, stdout, stderr := cliRun(r.ctx, terminal, append(append([]string{"ecard", "verify", "--dir", dir, "--json"}, args...), code)...)
		var res ecard.CodeCheck
		require.NoError(t, json.Unmarshal([]byte(stdout), &res), "%s%s", stdout, stderr)
		return exit, res
	}
	exit, res := verify(valid)
	assert.Equal(t, exitCodeAccepted, exit)
	assert.Equal(t, ecard.CheckAccepted, res.Decision, "%+v", res)
	assert.Equal(t, ecard.CheckSourceOffline, res.Source)
	assert.Equal(t, cp.Seq, res.OfflineSeq)
	assert.Contains(t, res.AnsweredBy, "offline keys fetched ")
	assert.Contains(t, res.AnsweredBy, " + blacklist copy at seq ")
	assert.False(t, res.ReuseChecked)
	assert.Contains(t, res.Notice, "reuse cannot be detected offline")
	assert.NotEmpty(t, res.ServerError, "the server's silence is reported")
	assert.Nil(t, res.Holder, "no identity offline")

	// The human-readable answer says the same in words.
	_, stdout, _ = cliRun(r.ctx, terminal, "ecard", "verify", "--dir", dir, valid)
	assert.Contains(t, stdout, "ACCEPTED: not_listed\n")
	assert.Contains(t, stdout, "answered by offline keys fetched ")
	assert.Contains(t, stdout, "REUSE NOT CHECKED: checked offline: reuse cannot be detected offline")

	exit, res = verify(bobs)
	assert.Equal(t, exitCodeRefused, exit)
	assert.Equal(t, ecard.CheckRefused, res.Decision, "%+v", res)
	assert.Equal(t, ecard.CodeCardNotUsable, res.Code)
	assert.Equal(t, "blacklisted:lost", res.Reason)
	assert.Equal(t, ecard.CheckSourceOffline, res.Source)

	for name, c := range map[string]struct{ code, want string }{
		"bad signature": {forged, ecard.CodeBadSignature},
		"malformed":     {"AEFAWDANN", ecard.CodeMalformed},
	} {
		exit, res = verify(c.code)
		assert.Equal(t, exitCodeRefused, exit, name)
		assert.Equal(t, c.want, res.Code, "%s: %+v", name, res)
		assert.Equal(t, ecard.CheckSourceOffline, res.Source, name)
	}

	// Later on the terminal's clock: the old key retired, codes expired.
	offline := &ecard.CodeChecker{Dir: dir, MaxAge: 7 * 24 * time.Hour, Now: func() time.Time { return retiredAt.Add(time.Second) }}
	for name, c := range map[string]struct{ code, want string }{
		"retired key": {oldKeyCode, ecard.CodeBadSignature},
		"expired":     {expiring, ecard.CodeExpired},
	} {
		res := offline.Offline(c.code)
		assert.Equal(t, ecard.CheckRefused, res.Decision, "%s: %+v", name, res)
		assert.Equal(t, c.want, res.Code, "%s: %+v", name, res)
	}

	// Stale copies answer unknown, never accepted: the keys, then the
	// blacklist copy alone.
	time.Sleep(5 * time.Millisecond)
	exit, res = verify(valid, "--max-age", "1ms")
	assert.Equal(t, exitCodeUnknown, exit)
	assert.Equal(t, ecard.CheckUnknown, res.Decision, "%+v", res)
	assert.Equal(t, ecard.CheckSourceNone, res.Source)
	assert.Contains(t, res.Reason, "offline_keys_stale")

	cp.SyncedAt = time.Now().Add(-30 * 24 * time.Hour)
	require.NoError(t, cp.Save(dir))
	exit, res = verify(valid)
	assert.Equal(t, exitCodeUnknown, exit)
	assert.Equal(t, ecard.CheckUnknown, res.Decision, "%+v", res)
	assert.Contains(t, res.Reason, "offline_copy_stale")
	exit, res = verify(bobs)
	assert.Equal(t, exitCodeRefused, exit, "a listed card is refused however old the copy")
	assert.Equal(t, ecard.CodeCardNotUsable, res.Code)

	// No keys file: unknown.
	exit, res = verify(valid, "--dir", filepath.Join(dir, "missing"))
	assert.Equal(t, exitCodeUnknown, exit)
	assert.Contains(t, res.Reason, "no_usable_offline_keys")
}
