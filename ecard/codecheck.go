package ecard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/readapi/blacklistsync"
)

// Decisions of a CodeCheck.
const (
	CheckAccepted = "accepted"
	CheckRefused  = "refused"
	CheckUnknown  = "unknown" // nothing could vouch for the code: never treat as accepted
)

// Sources of a CodeCheck.
const (
	CheckSourceServer  = "server"
	CheckSourceOffline = "offline"
	CheckSourceNone    = "none"
)

// OfflineNotice is what every offline answer says about what it could not
// check: a code verifies once only because the server remembers it.
const OfflineNotice = "checked offline: reuse cannot be detected offline (this code may have been verified already elsewhere); " +
	"e-card revocation and channel bindings are not checked offline, only the signature, the expiry and the blacklist copy"

// CodeCheck is the answer of a CodeChecker, for `cardledger ecard verify`
// and cardbridge alike.
type CodeCheck struct {
	Decision string `json:"decision"`
	// Code is the stable problem code of a refusal (code_malformed,
	// code_bad_signature, code_expired, code_used, card_not_usable, ...),
	// the same online and offline.
	Code   string `json:"code,omitempty"`
	Reason string `json:"reason"`
	Source string `json:"source"`
	// AnsweredBy says in words which source answered: the server, or the
	// offline keys fetched at T with the blacklist copy at seq P.
	AnsweredBy string `json:"answered_by"`
	// ReuseChecked is false on every answer but the server's: offline, a
	// replayed code cannot be told from a fresh one (Notice says so).
	ReuseChecked bool   `json:"reuse_checked"`
	Notice       string `json:"notice,omitempty"`

	CardNo    string     `json:"card_no,omitempty"`
	Channel   string     `json:"channel,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Holder is the server's answer (masked identity, card status).
	Holder *Verified `json:"holder,omitempty"`

	KeysFetchedAt   *time.Time `json:"keys_fetched_at,omitempty"`
	OfflineSeq      int64      `json:"offline_seq,omitempty"`
	OfflineSyncedAt *time.Time `json:"offline_synced_at,omitempty"`
	// ServerError is why the server did not answer, when it did not.
	ServerError string `json:"server_error,omitempty"`
}

// errUnreachable marks a server that gave no answer to rely on.
var errUnreachable = errors.New("server did not answer")

// CodeChecker verifies a code on the server (POST /v1/ecard/verify with a
// terminal key) when one is configured, and from the offline copies in
// Dir (KeysFileName and the blacklist copy) when the server does not
// answer: network error, timeout, 5xx, 429 or 401, as cardbridge does for
// cards, or 403 forbidden (the key is no terminal's). It never answers "accepted" for a code nothing vouched for.
type CodeChecker struct {
	Server string       // base URL; empty: offline only
	Key    string       // terminal API key
	Client *http.Client // bounds the server call (its Timeout)
	Dir    string       // the offline copies; empty: none
	// MaxAge: offline keys or a blacklist copy older than this cannot
	// accept a code (0: any age). A listed card is refused whatever the age.
	MaxAge time.Duration
	Now    func() time.Time
}

// Check answers for code.
func (c *CodeChecker) Check(ctx context.Context, code string) CodeCheck {
	var serverErr string
	if c.Server != "" {
		out, err := c.Online(ctx, code)
		if err == nil {
			return out
		}
		serverErr = err.Error()
	}
	out := c.Offline(code)
	out.ServerError = serverErr
	return out
}

// Online asks the server; an error means it gave no answer.
func (c *CodeChecker) Online(ctx context.Context, code string) (CodeCheck, error) {
	body, _ := json.Marshal(verifyBody{Code: code})
	url := strings.TrimRight(c.Server, "/") + "/v1/ecard/verify"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return CodeCheck{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Key)
	req.Header.Set("Content-Type", "application/json")
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return CodeCheck{}, fmt.Errorf("%w: POST /v1/ecard/verify: %w", errUnreachable, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return CodeCheck{}, fmt.Errorf("%w: POST /v1/ecard/verify: %w", errUnreachable, err)
	}
	out := CodeCheck{Source: CheckSourceServer, AnsweredBy: "server " + strings.TrimRight(c.Server, "/"), ReuseChecked: true}
	switch {
	case res.StatusCode == http.StatusOK:
		var v Verified
		if err := json.Unmarshal(b, &v); err != nil {
			return CodeCheck{}, fmt.Errorf("%w: POST /v1/ecard/verify: unreadable answer: %w", errUnreachable, err)
		}
		out.Decision, out.Reason, out.Holder = CheckAccepted, v.CardStatus, &v
		out.CardNo, out.Channel = v.CardNo, v.Channel
		return out, nil
	case res.StatusCode >= 500, res.StatusCode == http.StatusTooManyRequests, res.StatusCode == http.StatusUnauthorized:
		return CodeCheck{}, fmt.Errorf("%w: POST /v1/ecard/verify: %s", errUnreachable, res.Status)
	case res.StatusCode >= 400:
		var p struct {
			Code   string `json:"code"`
			Detail string `json:"detail"`
			Title  string `json:"title"`
		}
		if err := json.Unmarshal(b, &p); err != nil || p.Code == "" {
			return CodeCheck{}, fmt.Errorf("%w: POST /v1/ecard/verify: %s without a problem code", errUnreachable, res.Status)
		}
		if p.Code == httpapi.CodeForbidden || p.Code == httpapi.CodeRateLimited {
			// The key is no terminal's: a misconfiguration, not the code's fault.
			return CodeCheck{}, fmt.Errorf("%w: POST /v1/ecard/verify: %s %s (is the key a terminal's?)", errUnreachable, res.Status, p.Code)
		}
		out.Decision, out.Code, out.Reason = CheckRefused, p.Code, p.Detail
		if out.Reason == "" {
			out.Reason = p.Title
		}
		return out, nil
	}
	return CodeCheck{}, fmt.Errorf("%w: POST /v1/ecard/verify: %s", errUnreachable, res.Status)
}

// Offline answers from the keys file and the blacklist copy in c.Dir.
// What it checks, in the server's order: the code's form, its key and
// signature, its expiry, then the card on the blacklist copy.
func (c *CodeChecker) Offline(code string) CodeCheck {
	out := CodeCheck{Source: CheckSourceOffline, Notice: OfflineNotice}
	unknown := func(reason string) CodeCheck {
		out.Decision, out.Reason, out.Source = CheckUnknown, reason, CheckSourceNone
		out.AnsweredBy = "nothing could vouch for the code (" + reason + ")"
		return out
	}
	refused := func(code, reason string) CodeCheck {
		out.Decision, out.Code, out.Reason = CheckRefused, code, reason
		return out
	}
	claims, _, _, err := Decode(code)
	if err != nil {
		out.AnsweredBy = "offline: the code's form alone"
		return refused(CodeMalformed, err.Error())
	}
	exp := claims.Expiry
	out.CardNo, out.Channel, out.ExpiresAt = claims.CardNo, claims.Channel, &exp
	if c.Dir == "" {
		return unknown("server_unreachable_no_offline_copy")
	}
	keys, err := LoadKeysFile(c.Dir)
	if err != nil {
		return unknown("no_usable_offline_keys: " + err.Error())
	}
	now := c.now()
	fetched := keys.FetchedAt.UTC()
	out.KeysFetchedAt = &fetched
	out.AnsweredBy = "offline keys fetched " + fetched.Format(time.RFC3339)
	if c.stale(fetched, now) {
		return unknown("offline_keys_stale: fetched " + fetched.Format(time.RFC3339))
	}
	if !keys.Has(claims.KeyID) && !claims.Expiry.Add(MaxClockSkew).Before(fetched) {
		// A key made after the fetch may have signed a code still valid:
		// the copy cannot tell a new key from a forged id. A code that
		// expired before the fetch had its key published then, unless it
		// was retired: the server would refuse it too.
		return unknown(fmt.Sprintf("offline_keys_lack_key: key %s is not in the keys fetched %s", claims.KeyID, fetched.Format(time.RFC3339)))
	}
	if _, err := Parse(code, keys, now); err != nil {
		switch {
		case errors.Is(err, ErrBadSignature):
			return refused(CodeBadSignature, err.Error())
		case errors.Is(err, ErrExpired):
			return refused(CodeExpired, err.Error())
		default:
			return refused(CodeMalformed, err.Error())
		}
	}
	e, listed, cp, err := blacklistsync.Check(c.Dir, claims.CardNo)
	if err != nil {
		return unknown("no_usable_offline_copy: " + err.Error())
	}
	synced := cp.SyncedAt.UTC()
	out.OfflineSeq, out.OfflineSyncedAt = cp.Seq, &synced
	out.AnsweredBy = fmt.Sprintf("offline keys fetched %s + blacklist copy at seq %d (synced %s)",
		fetched.Format(time.RFC3339), cp.Seq, synced.Format(time.RFC3339))
	switch {
	case listed:
		// Refused however old the copy: a card once listed is the safe side.
		return refused(CodeCardNotUsable, "blacklisted:"+e.Reason)
	case c.stale(synced, now):
		return unknown("offline_copy_stale: synced " + synced.Format(time.RFC3339))
	}
	out.Decision, out.Reason = CheckAccepted, "not_listed"
	return out
}

func (c *CodeChecker) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c *CodeChecker) stale(at, now time.Time) bool {
	return c.MaxAge > 0 && now.Sub(at) > c.MaxAge
}

// Lines is the answer in words, one fact a line, for a terminal's screen
// or a log.
func (r CodeCheck) Lines() []string {
	head := strings.ToUpper(r.Decision)
	if r.Code != "" {
		head += " " + r.Code
	}
	if r.Reason != "" {
		head += ": " + r.Reason
	}
	lines := []string{head}
	if r.Holder != nil {
		lines = append(lines, fmt.Sprintf("holder %s, ID %s, card %s (%s), channel %s", r.Holder.Name, r.Holder.IDNumber,
			r.Holder.CardNo, r.Holder.CardStatus, r.Holder.Channel))
	} else if r.CardNo != "" {
		lines = append(lines, fmt.Sprintf("card %s, channel %s", r.CardNo, r.Channel))
	}
	lines = append(lines, "answered by "+r.AnsweredBy)
	if r.ServerError != "" {
		lines = append(lines, "server did not answer: "+r.ServerError)
	}
	if !r.ReuseChecked {
		lines = append(lines, "REUSE NOT CHECKED: "+r.Notice)
	}
	return lines
}
