package notifications

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// SMSGateway posts each SMS to an HTTP gateway (CARDLEDGER_SMS_GATEWAY_URL):
//
//	POST <url>  Content-Type: application/json  Idempotency-Key: <message id>
//	{"id":"<event id>-<index>","to":"13800138000","text":"【社会保障卡】…"}
//
// Any 2xx is accepted; anything else, or no answer, is a failed attempt.
// A real carrier's API sits behind an adapter speaking this; `cardledger
// simulate sms` is one that keeps what it gets.
type SMSGateway struct {
	URL    string
	Client *http.Client
}

// SMSRequest is the gateway's request body.
type SMSRequest struct {
	ID   string `json:"id"`
	To   string `json:"to"`
	Text string `json:"text"`
}

// NewSMSGateway is a gateway client with a bounded call time.
func NewSMSGateway(url string, timeout time.Duration) SMSGateway {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return SMSGateway{URL: url, Client: &http.Client{Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Send implements Sender.
func (g SMSGateway) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(SMSRequest{ID: m.ID, To: m.To, Text: m.Text})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("sms gateway: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", m.ID)
	req.Header.Set("User-Agent", "cardledger-notifications/1")
	resp, err := g.Client.Do(req)
	if err != nil {
		return fmt.Errorf("sms gateway: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("sms gateway answered %d", resp.StatusCode)
	}
	return nil
}
