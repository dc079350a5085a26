package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cardledger/cardledger/ecard"
)

// asClient sends a request with key and decodes the JSON answer.
func (l *ledger) asClient(t *testing.T, key, method, path string, body any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, l.url+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode, out
}

// postCode sends a scanned code to the agent's POST /verify-code.
func (a *runningAgent) postCode(t *testing.T, contentType, body string) ecard.CodeCheck {
	t.Helper()
	res, err := http.Post("http://"+a.listen+"/verify-code", contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /verify-code: %d %s", res.StatusCode, raw)
	}
	var out ecard.CodeCheck
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("POST /verify-code: %s: %v", raw, err)
	}
	return out
}

// TestAgentVerifiesECardCodesOnlineThenOffline: codes posted to the
// agent's /verify-code are verified by the server (once) while it runs,
// and from the offline keys and blacklist copy once it is stopped; the
// offline answer names its copies and says reuse is not detected.
func TestAgentVerifiesECardCodesOnlineThenOffline(t *testing.T) {
	stack.Need(t)
	l := startLedger(t)
	cardNo := l.issueCard(t)
	channelKey := lastLine(l.cli(t, "clients", "add", "--name", "app", "--role", "channel", "--channel", "rsapp"))
	terminalKey := lastLine(l.cli(t, "clients", "add", "--name", "hall", "--role", "terminal", "--agency", "H0001"))
	status, bound := l.asClient(t, channelKey, http.MethodPost, "/v1/ecard/bindings",
		map[string]any{"id_number": holder.idNumber, "name": holder.name, "scopes": []string{"identity"}})
	if status != http.StatusOK {
		t.Fatalf("binding: %d %v", status, bound)
	}
	code := func() string {
		t.Helper()
		status, out := l.asClient(t, channelKey, http.MethodPost, "/v1/ecard/codes", map[string]string{"cardholder_id": bound["cardholder_id"].(string)})
		if status != http.StatusCreated {
			t.Fatalf("code: %d %v", status, out)
		}
		return out["code"].(string)
	}
	first, second := code(), code()
	dir := t.TempDir()
	l.syncOffline(t, dir)
	l.cli(t, "ecard", "keys", "fetch", "--dir", dir, "--server-url", l.url)

	cfg := agentConfig(l.url, l.counter, dir)
	cfg.TerminalKey = terminalKey
	a := startAgent(t, cfg)

	got := a.postCode(t, "text/plain", first+"\n") // a scanner's keyboard wedge ends with Enter
	if got.Decision != ecard.CheckAccepted || got.Source != ecard.CheckSourceServer || !got.ReuseChecked ||
		got.Holder == nil || got.Holder.Name != holder.maskedName {
		t.Errorf("online: %+v; want accepted by the server with the masked holder", got)
	}
	line := a.out.next(t, 5*time.Second, is(evCodeDecision))
	if line.Check == nil || line.Check.Decision != ecard.CheckAccepted || line.CardNo != cardNo || strings.Contains(line.raw, holder.name) {
		t.Errorf("code_decision line %s", line.raw)
	}
	if got := a.postCode(t, "application/json", `{"code":"`+first+`"}`); got.Decision != ecard.CheckRefused || got.Code != ecard.CodeUsed {
		t.Errorf("replayed online: %+v; want refused code_used", got)
	}

	l.stop(t)
	for _, c := range []string{second, first} { // offline, a used code cannot be told from a fresh one
		got = a.postCode(t, "application/json", `{"code":"`+c+`"}`)
		if got.Decision != ecard.CheckAccepted || got.Source != ecard.CheckSourceOffline || got.ReuseChecked ||
			!strings.Contains(got.Notice, "reuse cannot be detected offline") || got.ServerError == "" ||
			!strings.Contains(got.AnsweredBy, "offline keys fetched") || !strings.Contains(got.AnsweredBy, "blacklist copy at seq") {
			t.Errorf("offline: %+v; want accepted from the offline copies, reuse not checked", got)
		}
	}

	// The card is reported lost; the copy is synced; the server goes again.
	l.start(t)
	l.command(t, cardNo, "loss")
	l.syncOffline(t, dir)
	l.stop(t)
	got = a.postCode(t, "text/plain", second)
	if got.Decision != ecard.CheckRefused || got.Code != ecard.CodeCardNotUsable || got.Source != ecard.CheckSourceOffline || got.Reason != "blacklisted:lost" {
		t.Errorf("lost card offline: %+v; want refused card_not_usable from the offline copy", got)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}
