package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A blacklist feed with one listed card after the snapshot; it answers only
// the key "clk_good".
func blacklistServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer clk_good" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/v1/blacklist/snapshot":
			_, _ = w.Write([]byte(`{"seq":1,"entries":[{"card_no":"B00000001","reason":"lost","since":"2026-01-01T08:00:00Z"}]}`))
		case r.URL.Path == "/v1/blacklist/changes" && r.URL.Query().Get("after") == "1":
			_, _ = w.Write([]byte(`{"changes":[{"seq":2,"card_no":"B00000002","op":"add","reason":"temporarily_lost","at":"2026-01-02T08:00:00Z"}],"next":2}`))
		case r.URL.Path == "/v1/blacklist/changes":
			_, _ = w.Write([]byte(`{"changes":[],"next":2}`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The server and key come from the configuration (CARDLEDGER_SERVER_URL,
// CARDLEDGER_API_KEY or their flags); check answers from the file alone
// with the documented exit statuses.
func TestBlacklistSyncAndCheck(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := blacklistServer(t)
	dir := t.TempDir()
	vars := map[string]string{"CARDLEDGER_SERVER_URL": srv.URL, "CARDLEDGER_API_KEY": "clk_bad", "CARDLEDGER_LOG_LEVEL": "warn"}
	cli := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
		return run(ctx, env, args), out.String(), errOut.String()
	}

	code, _, errOut := cli("blacklist", "sync", "--dir", dir, "--once")
	assert.Equal(t, 1, code, "the environment's key is refused")
	assert.Contains(t, errOut, "401 Unauthorized")

	code, out, errOut := cli("blacklist", "sync", "--dir", dir, "--once", "--api-key", "clk_good")
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "synced: seq 2, 2 listed cards\n", out)

	vars["CARDLEDGER_API_KEY"] = "clk_good"
	vars["CARDLEDGER_SERVER_URL"] = "http://127.0.0.1:1" // the flag wins
	code, out, errOut = cli("blacklist", "sync", "--dir", dir, "--once", "--server-url", srv.URL)
	require.Equal(t, 0, code, errOut)
	assert.Equal(t, "synced: seq 2, 2 listed cards\n", out)

	srv.Close()
	code, out, _ = cli("blacklist", "check", "--dir", dir, "B00000002")
	assert.Equal(t, exitListed, code)
	assert.True(t, strings.HasPrefix(out, "B00000002 LISTED reason=temporarily_lost since=2026-01-02T08:00:00Z (local copy at seq 2, synced "), out)
	code, out, _ = cli("blacklist", "check", "--dir", dir, "B00000003")
	assert.Equal(t, exitNotListed, code)
	assert.True(t, strings.HasPrefix(out, "B00000003 not listed (local copy at seq 2, synced "), out)
	code, _, errOut = cli("blacklist", "check", "--dir", filepath.Join(dir, "none"), "B00000003")
	assert.Equal(t, exitCheckFail, code, "no copy is an error, not an answer")
	assert.Contains(t, errOut, "cardledger blacklist check: ")

	for _, bad := range [][]string{
		{"blacklist"},
		{"blacklist", "sync", "--once"},
		{"blacklist", "check", "--dir", dir},
	} {
		code, _, _ := cli(bad...)
		assert.Equal(t, 2, code, "%v", bad)
	}
	vars["CARDLEDGER_API_KEY"] = ""
	code, _, errOut = cli("blacklist", "sync", "--dir", dir, "--once")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "--api-key (or CARDLEDGER_API_KEY) are required")
}

// Following the feed says what it applied and when it is up to date, once
// (the test feed answers at once, so it polls many times meanwhile).
func TestBlacklistSyncFollowingShowsProgress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := blacklistServer(t)
	vars := map[string]string{"CARDLEDGER_SERVER_URL": srv.URL, "CARDLEDGER_API_KEY": "clk_good", "CARDLEDGER_LOG_LEVEL": "warn"}
	var out, errOut lockedBuffer
	env := &environment{stdout: &out, stderr: &errOut, getenv: func(k string) string { return vars[k] }}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan int)
	go func() { done <- run(sctx, env, []string{"blacklist", "sync", "--dir", t.TempDir()}) }()
	require.Eventually(t, func() bool { return strings.Contains(errOut.String(), "up to date") }, 20*time.Second, 10*time.Millisecond)
	stop()
	assert.Equal(t, 130, <-done)
	lines := strings.Split(strings.TrimSpace(errOut.String()), "\n")
	require.Len(t, lines, 3, errOut.String())
	assert.Equal(t, "blacklist sync: snapshot at seq 1, 1 listed cards", lines[0])
	assert.Equal(t, "blacklist sync: applied 1 changes, at seq 2, 2 listed cards", lines[1])
	assert.True(t, strings.HasPrefix(lines[2], "blacklist sync: up to date at seq 2 (2 listed cards) at "), lines[2])
	assert.True(t, strings.HasSuffix(lines[2], "; following"), lines[2])
}
