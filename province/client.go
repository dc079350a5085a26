package province

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

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// maxAnswer bounds what the client reads of one answer.
const maxAnswer = 4 << 20

// DefaultTimeout bounds one call to the province.
const DefaultTimeout = 5 * time.Second

// Client calls the province at a base URL.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

var _ commands.Province = (*Client)(nil)

// NewClient returns the adapter for the province at baseURL
// (CARDLEDGER_PROVINCE_URL); token, if set, is sent as a bearer token;
// timeout 0 means DefaultTimeout.
func NewClient(baseURL, token string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("province URL %q: want an absolute http or https URL", baseURL)
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{base: u, token: token, http: &http.Client{Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// Wire bodies (docs/province.md).
type (
	cardsQuery struct {
		IDNumber string `json:"id_number"`
	}
	cardsAnswer struct {
		Cards []commands.ProvinceCard `json:"cards"`
	}
	transferRequest struct {
		IDNumber string `json:"id_number"`
		ToRegion string `json:"to_region"`
	}
	cancelRequest struct {
		Region string `json:"region"`
		Reason string `json:"reason"`
	}
	uploadRequest struct {
		Records []commands.ProvinceCard `json:"records"`
	}
	uploadAnswer struct {
		Accepted int                        `json:"accepted"`
		Rejected []commands.UploadRejection `json:"rejected"`
	}
	problem struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}
)

func (c *Client) Cards(ctx context.Context, idNumber string) ([]commands.ProvinceCard, error) {
	var a cardsAnswer
	// The ID number goes in the body, never in a URL (access logs).
	if err := c.call(ctx, http.MethodPost, "/v1/card-queries", cardsQuery{IDNumber: idNumber}, &a); err != nil {
		return nil, err
	}
	if a.Cards == nil {
		return nil, unavailable("the answer has no cards array")
	}
	for _, card := range a.Cards {
		if err := checkRecord(card); err != nil {
			return nil, err
		}
	}
	return a.Cards, nil
}

func (c *Client) Transfer(ctx context.Context, idNumber, cardNo, region string) (commands.ProvinceCard, error) {
	var a commands.ProvinceCard
	if err := c.call(ctx, http.MethodPost, "/v1/cards/"+url.PathEscape(cardNo)+"/transfer",
		transferRequest{IDNumber: idNumber, ToRegion: region}, &a); err != nil {
		return a, err
	}
	if err := checkRecord(a); err != nil {
		return a, err
	}
	if a.CardNo != cardNo || a.Region != region {
		return a, unavailable(fmt.Sprintf("the transfer answered card %s in region %s", a.CardNo, a.Region))
	}
	return a, nil
}

func (c *Client) CancelRecord(ctx context.Context, cardNo, region, reason string) error {
	var a commands.ProvinceCard
	if err := c.call(ctx, http.MethodPost, "/v1/cards/"+url.PathEscape(cardNo)+"/cancellation",
		cancelRequest{Region: region, Reason: reason}, &a); err != nil {
		return err
	}
	if a.CardNo != cardNo || a.Status != domain.StatusCancelled {
		return unavailable(fmt.Sprintf("the cancellation answered card %q in status %q", a.CardNo, a.Status))
	}
	return nil
}

func (c *Client) Upload(ctx context.Context, records []commands.ProvinceCard) ([]commands.UploadRejection, error) {
	var a uploadAnswer
	if err := c.call(ctx, http.MethodPut, "/v1/records", uploadRequest{Records: records}, &a); err != nil {
		return nil, err
	}
	if a.Accepted+len(a.Rejected) != len(records) {
		return nil, unavailable(fmt.Sprintf("the upload of %d records answered %d accepted and %d rejected", len(records), a.Accepted, len(a.Rejected)))
	}
	if a.Rejected == nil {
		a.Rejected = []commands.UploadRejection{}
	}
	return a.Rejected, nil
}

// checkRecord refuses a record the ledger could not use as it is.
func checkRecord(r commands.ProvinceCard) error {
	if err := validRecord(r); err != nil {
		return unavailable(err.Error())
	}
	return nil
}

// validRecord checks a record's card number, status and region.
func validRecord(r commands.ProvinceCard) error {
	if err := domain.ValidateCardNo(r.CardNo); err != nil {
		return fmt.Errorf("a record has card number %q", r.CardNo)
	}
	if !r.Status.Valid() || r.Status == domain.StatusNone {
		return fmt.Errorf("card %s has status %q", r.CardNo, r.Status)
	}
	if domain.ValidateRegionCode(r.Region) != nil {
		return fmt.Errorf("card %s has region %q", r.CardNo, r.Region)
	}
	return nil
}

func unavailable(why string) error {
	return fmt.Errorf("province answered garbage (%s): %w", why, commands.ErrProvinceUnavailable)
}

// call sends one request and decodes a 2xx answer into out, strictly.
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.String()+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// The transport's error without the URL it repeats.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return fmt.Errorf("province %s %s: %v: %w", method, path, err, commands.ErrProvinceUnavailable)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return fmt.Errorf("province %s %s: reading the answer: %v: %w", method, path, err, commands.ErrProvinceUnavailable)
	}
	if len(raw) > maxAnswer {
		return unavailable(fmt.Sprintf("the answer is over %d bytes", maxAnswer))
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		dec := json.NewDecoder(bytes.NewReader(raw))
		if err := dec.Decode(out); err != nil {
			return unavailable(fmt.Sprintf("%s %s answered %d with %v", method, path, resp.StatusCode, err))
		}
		if dec.More() {
			return unavailable(fmt.Sprintf("%s %s answered more than one JSON value", method, path))
		}
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode <= 499:
		var p problem
		if err := json.Unmarshal(raw, &p); err != nil || p.Code == "" {
			return unavailable(fmt.Sprintf("%s %s answered %d without a code", method, path, resp.StatusCode))
		}
		return &commands.ProvinceRefusal{Status: resp.StatusCode, Code: p.Code, Message: p.Message}
	default:
		return fmt.Errorf("province %s %s answered %d: %w", method, path, resp.StatusCode, commands.ErrProvinceUnavailable)
	}
}
