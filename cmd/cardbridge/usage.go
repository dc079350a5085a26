package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
)

// usageReporter sends one identity_auth usage record per accepted card. It
// is fire-and-forget: the counter never waits for it, and a failure is
// logged, not retried (the record is analytics, not billing; the agent
// keeps no queue).
type usageReporter struct {
	server   string
	key      string
	region   string
	merchant string
	client   *http.Client
	log      *eventLog
}

func newUsageReporter(cfg Config, log *eventLog) *usageReporter {
	return &usageReporter{
		server:   strings.TrimRight(cfg.Server, "/"),
		key:      cfg.Key,
		region:   cfg.RegionCode,
		merchant: cfg.Merchant,
		client:   &http.Client{Timeout: cfg.UsageTimeout},
		log:      log,
	}
}

// usageRequest is the body of POST /v1/usage.
type usageRequest struct {
	Records []domain.UsageInput `json:"records"`
}

// report posts the record and logs the outcome (usage_reported, or error
// with kind usage_report).
func (u *usageReporter) report(ctx context.Context, cardNo string, at time.Time) {
	rec := domain.UsageInput{
		ID:         "cardbridge-" + uuid.NewString(),
		CardNo:     cardNo,
		At:         at.Format(time.RFC3339),
		Kind:       string(domain.UsageIdentityAuth),
		Amount:     "0",
		RegionCode: u.region,
		Merchant:   u.merchant,
		Category:   "identity_auth",
		Channel:    string(domain.ChannelCard),
	}
	recorded, err := u.post(ctx, rec)
	if err != nil {
		u.log.emit(Event{Event: evError, Kind: "usage_report", CardNo: cardNo, Message: err.Error()})
		return
	}
	u.log.emit(Event{Event: evUsageReported, CardNo: cardNo, Records: recorded})
}

func (u *usageReporter) post(ctx context.Context, rec domain.UsageInput) (int, error) {
	body, err := json.Marshal(usageRequest{Records: []domain.UsageInput{rec}})
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.server+"/v1/usage", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+u.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := u.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST /v1/usage: %w", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("POST /v1/usage: %s: %s", res.Status, bytes.TrimSpace(raw))
	}
	var out struct {
		Recorded   int `json:"recorded"`
		Duplicates int `json:"duplicates"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return 0, fmt.Errorf("POST /v1/usage: unreadable answer: %w", err)
	}
	return out.Recorded + out.Duplicates, nil
}
