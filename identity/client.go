package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxAnswer bounds what is read of an answer (a photo is at most ~100 KiB,
// base64 in JSON).
const maxAnswer = 1 << 20

// Client is Source over HTTP.
type Client struct {
	endpoint string
	http     *http.Client
	timeout  time.Duration
}

// NewClient talks to the source at base (http or https URL), giving each
// call at most timeout.
func NewClient(base string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("identity source URL %q: want http(s)://host[:port][/path]", base)
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("identity source timeout %s: want > 0", timeout)
	}
	return &Client{endpoint: strings.TrimSuffix(base, "/") + "/v1/identity/verifications",
		http: &http.Client{}, timeout: timeout}, nil
}

// Verify asks the source; see the package doc for the errors.
func (c *Client) Verify(ctx context.Context, idNumber, name string) ([]byte, error) {
	body, _ := json.Marshal(request{IDNumber: idNumber, Name: name})
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.failure(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, c.failure(ctx, err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return nil, fmt.Errorf("%w: HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %d", ErrBadAnswer, resp.StatusCode)
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("%w: answer over %d bytes", ErrBadAnswer, maxAnswer)
	}
	var a answer
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadAnswer, err)
	}
	switch a.Result {
	case ResultMatch:
		return a.Photo, nil
	case ResultMismatch:
		return nil, ErrMismatch
	case ResultNotFound:
		return nil, ErrNotFound
	}
	return nil, fmt.Errorf("%w: result %q", ErrBadAnswer, a.Result)
}

// failure classifies a transport error: our deadline passed (ErrTimeout),
// the caller gave up (its own error), or the source is unreachable.
func (c *Client) failure(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (%s)", ErrTimeout, c.timeout)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}
