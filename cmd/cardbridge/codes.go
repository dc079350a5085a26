package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cardledger/cardledger/ecard"
)

// evCodeDecision is the log line of one e-card code checked through
// POST /verify-code.
const evCodeDecision = "code_decision"

// maxCodeBody bounds what /verify-code reads: a code and a little JSON.
const maxCodeBody = 4 << 10

// newCodeChecker builds the e-card code checker from the agent's settings:
// the server with the terminal key (online first), the offline keys and
// blacklist copy in --blacklist-dir, --offline-max-age for both copies.
func newCodeChecker(cfg Config, now func() time.Time) *ecard.CodeChecker {
	c := &ecard.CodeChecker{Dir: cfg.BlacklistDir, MaxAge: cfg.OfflineMaxAge, Now: now,
		Client: &http.Client{Timeout: cfg.ServerTimeout}}
	if cfg.Server != "" && cfg.TerminalKey != "" {
		c.Server, c.Key = strings.TrimRight(cfg.Server, "/"), cfg.TerminalKey
	}
	return c
}

// codeRequest is POST /verify-code's JSON body; a text/plain body is the
// code itself (what a scanner's keyboard wedge types, trimmed).
type codeRequest struct {
	Code string `json:"code"`
}

// verifyCode serves POST /verify-code: the counter application (or a
// scanner bridge) sends a scanned e-card code and gets the CodeCheck.
// Every answer is 200 with a decision; a body without a code is 400.
func (a *agent) verifyCode(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxCodeBody+1))
	if err != nil || len(raw) > maxCodeBody {
		http.Error(w, "body: at most 4 KiB", http.StatusRequestEntityTooLarge)
		return
	}
	code := strings.TrimSpace(string(raw))
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var b codeRequest
		if err := json.Unmarshal(raw, &b); err != nil {
			http.Error(w, "body: want {\"code\": \"...\"}", http.StatusBadRequest)
			return
		}
		code = strings.TrimSpace(b.Code)
	}
	if code == "" {
		http.Error(w, "no code in the body", http.StatusBadRequest)
		return
	}
	out := a.checkCode(r.Context(), code)
	writeJSON(w, out)
}

// checkCode checks one code and logs the answer (card number and
// decision; the server's holder name is masked already).
func (a *agent) checkCode(ctx context.Context, code string) ecard.CodeCheck {
	start := time.Now()
	out := a.codes.Check(ctx, code)
	a.log.emit(Event{Event: evCodeDecision, CardNo: out.CardNo, Check: &codeLine{
		Decision: out.Decision, Code: out.Code, Reason: out.Reason, Source: out.Source, AnsweredBy: out.AnsweredBy,
		ReuseChecked: out.ReuseChecked, ServerError: out.ServerError, CheckMS: ms(time.Since(start))}})
	return out
}

// codeLine is the code_decision line's own fields.
type codeLine struct {
	Decision     string  `json:"decision"`
	Code         string  `json:"code,omitempty"`
	Reason       string  `json:"reason"`
	Source       string  `json:"source"`
	AnsweredBy   string  `json:"answered_by"`
	ReuseChecked bool    `json:"reuse_checked"`
	ServerError  string  `json:"server_error,omitempty"`
	CheckMS      float64 `json:"check_ms"`
}
