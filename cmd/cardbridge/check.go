package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cardledger/cardledger/readapi/blacklistsync"
)

// Decisions.
const (
	Accepted = "accepted"
	Refused  = "refused"
	Unknown  = "unknown" // neither the server nor the offline copy could answer
)

// Sources of a decision.
const (
	SourceServer  = "server"
	SourceOffline = "offline"
	SourceNone    = "none"
)

// Decision is the agent's answer for one card.
type Decision struct {
	Decision string `json:"decision"`
	// Reason: for accepted, the card status ("active", "issued") or
	// "not_listed" (blacklist only); for refused, "blacklisted:<reason>"
	// (lost, temporarily_lost, cancelled:<cause>), "status:<status>",
	// "unknown_card" or "card_expired"; for unknown, why nothing answered.
	Reason     string `json:"reason"`
	Source     string `json:"source"`
	CardStatus string `json:"card_status,omitempty"` // from the server, when the key may read it
	// OfflineSeq and OfflineSyncedAt say how old the offline copy was.
	OfflineSeq      int64      `json:"offline_seq,omitempty"`
	OfflineSyncedAt *time.Time `json:"offline_synced_at,omitempty"`
	// ServerError is why the server did not answer, when it did not.
	ServerError string  `json:"server_error,omitempty"`
	CheckMS     float64 `json:"check_ms"`
	// TotalMS is from the card being connected to the decision: the read
	// and the check.
	TotalMS float64 `json:"total_ms"`
}

// acceptedStatuses are the card statuses a counter may accept.
var acceptedStatuses = map[string]bool{"active": true, "issued": true}

// errUnreachable marks server failures that send the check to the offline
// copy: network errors, timeouts, 5xx, 429, and a key the server refuses
// (the agent cannot tell a revoked key from a misconfigured server).
var errUnreachable = errors.New("server did not answer")

// checker decides on a card: from the server when it answers, else from
// the offline copy, else unknown. It never accepts a card nothing vouched
// for.
type checker struct {
	server  string
	key     string
	client  *http.Client
	dir     string
	timeout time.Duration
	maxAge  time.Duration
	now     func() time.Time
}

func newChecker(cfg Config, now func() time.Time) *checker {
	return &checker{
		server:  strings.TrimRight(cfg.Server, "/"),
		key:     cfg.Key,
		client:  &http.Client{Timeout: cfg.ServerTimeout},
		dir:     cfg.BlacklistDir,
		timeout: cfg.ServerTimeout,
		maxAge:  cfg.OfflineMaxAge,
		now:     now,
	}
}

// decide checks cardNo; expired is what the chip says about its validity.
func (c *checker) decide(ctx context.Context, cardNo string, expired bool) Decision {
	start := time.Now()
	d := c.lookup(ctx, cardNo)
	if d.Decision == Accepted && expired {
		d.Decision, d.Reason = Refused, "card_expired"
	}
	d.CheckMS = ms(time.Since(start))
	return d
}

func (c *checker) lookup(ctx context.Context, cardNo string) Decision {
	var serverErr string
	if c.server != "" {
		d, err := c.fromServer(ctx, cardNo)
		if err == nil {
			return d
		}
		serverErr = err.Error()
	}
	if c.dir == "" {
		return Decision{Decision: Unknown, Reason: "server_unreachable_no_offline_copy", Source: SourceNone, ServerError: serverErr}
	}
	e, listed, cp, err := blacklistsync.Check(c.dir, cardNo)
	if err != nil {
		return Decision{Decision: Unknown, Reason: "no_usable_offline_copy: " + err.Error(), Source: SourceNone, ServerError: serverErr}
	}
	synced := cp.SyncedAt.UTC()
	d := Decision{Source: SourceOffline, OfflineSeq: cp.Seq, OfflineSyncedAt: &synced, ServerError: serverErr}
	switch {
	case listed:
		// Refused however old the copy: a card once listed is the safe side.
		d.Decision, d.Reason = Refused, "blacklisted:"+e.Reason
	case c.maxAge > 0 && c.now().Sub(cp.SyncedAt) > c.maxAge:
		d.Decision, d.Reason, d.Source = Unknown, fmt.Sprintf("offline_copy_stale: synced %s", synced.Format(time.RFC3339)), SourceNone
	default:
		d.Decision, d.Reason = Accepted, "not_listed"
	}
	return d
}

// cardAnswer is GET /v1/cards/{card_no}, the fields the agent needs.
type cardAnswer struct {
	Status      string `json:"status"`
	Blacklisted bool   `json:"blacklisted"`
}

// blacklistAnswer is GET /v1/blacklist/{card_no}.
type blacklistAnswer struct {
	Listed bool   `json:"listed"`
	Reason string `json:"reason"`
}

// fromServer asks for the card's status and its blacklist entry at once.
// The status needs a counter key; with a blacklist-consumer key (403 on the
// status) the blacklist alone decides. An error (matching errUnreachable)
// means the server gave no answer to rely on.
func (c *checker) fromServer(ctx context.Context, cardNo string) (Decision, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var card cardAnswer
	var bl blacklistAnswer
	var cardCode, blCode int
	var cardErr, blErr error
	var wg sync.WaitGroup
	wg.Go(func() { cardCode, cardErr = c.get(ctx, "/v1/cards/"+url.PathEscape(cardNo), &card) })
	wg.Go(func() { blCode, blErr = c.get(ctx, "/v1/blacklist/"+url.PathEscape(cardNo), &bl) })
	wg.Wait()

	d := Decision{Source: SourceServer}
	blOK := blErr == nil && blCode == http.StatusOK
	switch {
	case blOK && bl.Listed:
		d.Decision, d.Reason = Refused, "blacklisted:"+bl.Reason
		if cardErr == nil && cardCode == http.StatusOK {
			d.CardStatus = card.Status
		}
		return d, nil
	case cardErr == nil && cardCode == http.StatusOK:
		d.CardStatus = card.Status
		switch {
		case card.Blacklisted:
			d.Decision, d.Reason = Refused, "blacklisted:"+card.Status
		case acceptedStatuses[card.Status]:
			d.Decision, d.Reason = Accepted, card.Status
		default:
			d.Decision, d.Reason = Refused, "status:"+card.Status
		}
		return d, nil
	case cardErr == nil && cardCode == http.StatusNotFound:
		d.Decision, d.Reason = Refused, "unknown_card"
		return d, nil
	case cardErr == nil && cardCode == http.StatusBadRequest:
		d.Decision, d.Reason = Refused, "invalid_card_number"
		return d, nil
	case blOK && (cardErr != nil || cardCode == http.StatusForbidden):
		// A blacklist-consumer key, or the status lookup alone failed.
		d.Decision, d.Reason = Accepted, "not_listed"
		return d, nil
	}
	var msgs []string
	for _, r := range []struct {
		what string
		code int
		err  error
	}{{"status", cardCode, cardErr}, {"blacklist", blCode, blErr}} {
		switch {
		case r.err != nil:
			msgs = append(msgs, r.err.Error())
		case r.code != http.StatusOK:
			msgs = append(msgs, fmt.Sprintf("%s lookup answered %d", r.what, r.code))
		}
	}
	return Decision{}, fmt.Errorf("%w: %s", errUnreachable, strings.Join(msgs, "; "))
}

// get fetches path into out. It returns the status code; err is set when the server did not answer usefully: network
// error, timeout, 5xx, 429, 401, or an unreadable 200.
func (c *checker) get(ctx context.Context, path string, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.server+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	res, err := c.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	switch {
	case res.StatusCode == http.StatusOK:
		if err := json.Unmarshal(body, out); err != nil {
			return 0, fmt.Errorf("GET %s: unreadable answer: %w", path, err)
		}
	case res.StatusCode >= 500, res.StatusCode == http.StatusTooManyRequests, res.StatusCode == http.StatusUnauthorized:
		return res.StatusCode, fmt.Errorf("GET %s: %s", path, res.Status)
	}
	return res.StatusCode, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
