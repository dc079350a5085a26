package fees

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
)

// Notice is a payment notice (缴款通知): what the POS is to collect. Its
// number is the application's id, so a notice sent twice is one notice.
type Notice struct {
	NoticeNo      string `json:"notice_no"`
	CardholderID  string `json:"cardholder_id"`
	ApplicationID string `json:"application_id"`
	AmountFen     int64  `json:"amount_fen"`
}

// noticeAck is the POS's answer to a notice.
type noticeAck struct {
	NoticeNo string `json:"notice_no"`
	Accepted bool   `json:"accepted"`
}

// NoticeSender is the port to the non-tax POS gateway.
type NoticeSender interface {
	SendNotice(ctx context.Context, n Notice) error
}

// Errors of SendNotice callers branch on.
var (
	// ErrPOSUnavailable: every try timed out, failed or was answered with
	// something that is not an acknowledgement of this notice.
	ErrPOSUnavailable = errors.New("the non-tax POS did not acknowledge the notice")
	// ErrPOSRefused: the POS answered with a client error (4xx); trying
	// again would not help.
	ErrPOSRefused = errors.New("the non-tax POS refused the notice")
)

// HTTPPOS sends notices as POST {URL}/notices with the notice as JSON and
// expects 200, 201 or 202 with {"notice_no": the same, "accepted": true}.
type HTTPPOS struct {
	URL    string
	Client *http.Client // its Timeout bounds each try
	// Tries is how many times a notice is sent before ErrPOSUnavailable
	// (0: 3); Backoff the wait after the first failed try, doubling.
	Tries   int
	Backoff time.Duration
}

// SendNotice implements NoticeSender. Retrying is safe: the POS keys
// notices by number.
func (p HTTPPOS) SendNotice(ctx context.Context, n Notice) error {
	tries, wait := p.Tries, p.Backoff
	if tries <= 0 {
		tries = 3
	}
	if wait <= 0 {
		wait = 200 * time.Millisecond
	}
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	var last error
	for i := range tries {
		if i > 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w: %v", ErrPOSUnavailable, ctx.Err())
			case <-time.After(wait):
			}
			wait *= 2
		}
		last = p.try(ctx, n.NoticeNo, body)
		if last == nil || errors.Is(last, ErrPOSRefused) {
			return last
		}
	}
	return fmt.Errorf("%w after %d tries: %v", ErrPOSUnavailable, tries, last)
}

func (p HTTPPOS) try(ctx context.Context, noticeNo string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(p.URL, "/")+"/notices", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrPOSRefused, err)
	}
	req.Header.Set("Content-Type", "application/json")
	client := p.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusRequestTimeout, resp.StatusCode == http.StatusTooManyRequests:
		return fmt.Errorf("POS answered %d", resp.StatusCode)
	case resp.StatusCode >= 400:
		return fmt.Errorf("%w: %d %.200s", ErrPOSRefused, resp.StatusCode, raw)
	case resp.StatusCode > 202:
		return fmt.Errorf("POS answered %d", resp.StatusCode)
	}
	var ack noticeAck
	if err := json.Unmarshal(raw, &ack); err != nil {
		return fmt.Errorf("POS answered garbage: %v", err)
	}
	if !ack.Accepted || ack.NoticeNo != noticeNo {
		return fmt.Errorf("POS acknowledged %q (accepted %v), not notice %q", ack.NoticeNo, ack.Accepted, noticeNo)
	}
	return nil
}
