package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/platform/platformtest"
)

// payCred is how a test calls: a bearer key, or signed as an app.
type payCred struct{ key, client, secret string }

func bearerCred(key string) payCred { return payCred{key: key} }

// payAPI calls a running server (in process or a child process).
type payAPI struct {
	t   testing.TB
	ctx context.Context
	url string
}

// call sends body (any value, or json.RawMessage as is) and decodes the
// JSON answer.
func (p payAPI) call(method, path string, cred payCred, body any) (int, map[string]any) {
	p.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case json.RawMessage:
		raw = b
	default:
		var err error
		raw, err = json.Marshal(b)
		require.NoError(p.t, err)
	}
	req, err := http.NewRequestWithContext(p.ctx, method, p.url+path, bytes.NewReader(raw))
	require.NoError(p.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	switch {
	case cred.client != "":
		nonce := make([]byte, 16)
		_, _ = rand.Read(nonce)
		require.NoError(p.t, httpapi.SignRequest(req, cred.client, []byte(cred.secret), hex.EncodeToString(nonce), time.Now()))
	case cred.key != "":
		req.Header.Set("Authorization", "Bearer "+cred.key)
	}
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	require.NoError(p.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(p.t, err)
	out := map[string]any{}
	if len(b) > 0 {
		require.NoError(p.t, json.Unmarshal(b, &out), "%s %s: %s", method, path, b)
	}
	return res.StatusCode, out
}

// must is call that requires the status.
func (p payAPI) must(want int, method, path string, cred payCred, body any) map[string]any {
	p.t.Helper()
	status, out := p.call(method, path, cred, body)
	require.Equal(p.t, want, status, "%s %s: %v", method, path, out)
	return out
}

// payWorld is an approved account with a financial-payment app and an
// approved merchant bound to it.
type payWorld struct {
	account, integrator string
	app                 payCred
	appID               string
	merchant            string
	notifySecret        string
}

// newPayWorld registers the account, its app and its merchant through the
// API, as an integrator would.
func newPayWorld(p payAPI, admin string) payWorld {
	p.t.Helper()
	var w payWorld
	acc := p.must(http.StatusCreated, http.MethodPost, "/v1/platform/accounts", payCred{}, map[string]any{
		"name": "济宁某某信息技术有限公司", "credit_code": platformtest.NewCreditCode(p.t),
		"contact": map[string]any{"name": "王工", "phone": "13800000000"}})
	w.account = acc["id"].(string)
	appr := p.must(http.StatusOK, http.MethodPost, "/v1/platform/accounts/"+w.account+"/approval", bearerCred(admin), nil)
	w.integrator = appr["api_key"].(string)
	app := p.must(http.StatusCreated, http.MethodPost, "/v1/platform/apps", bearerCred(w.integrator), map[string]any{
		"name": "药房收银", "type": domain.AppFinancialPayment, "channels": []string{domain.AppChannelECardQR, domain.AppChannelECardOnline},
		"per_minute": domain.MaxAppPerMinute, "per_day": domain.MaxAppPerDay})
	w.app = payCred{client: app["client"].(string), secret: app["secret"].(string)}
	w.appID = app["app"].(map[string]any)["id"].(string)
	reg := p.must(http.StatusCreated, http.MethodPost, "/v1/payment/merchants", w.app, merchantBody())
	w.merchant = reg["merchant"].(map[string]any)["id"].(string)
	w.notifySecret = reg["notify_secret"].(string)
	p.must(http.StatusOK, http.MethodPost, "/v1/payment/merchants/"+w.merchant+"/approval", bearerCred(admin), nil)
	return w
}

func merchantBody() map[string]any {
	return map[string]any{"name": "济宁市某某大药房", "credit_code": "91350100M000100Y43", "mcc": "5912",
		"settlement": map[string]any{"bank_code": "102", "account_no": "6222021612000012345", "name": "济宁市某某大药房"}}
}

// order is the body of an order of the world's merchant.
func (w payWorld) order(no string, fen int64, notify string) map[string]any {
	return map[string]any{"merchant_id": w.merchant, "merchant_order_no": no, "amount_fen": fen,
		"description": "药品", "notify_url": notify}
}

// payHolder registers a holder with an active card at bank 102 and binds
// the e-card to the channel of channelKey; it returns the holder id.
func payHolder(p payAPI, admin, channelKey string, seq int) string {
	p.t.Helper()
	first17 := fmt.Sprintf("3205061985020300%d", seq%10)
	idNo := first17 + string(domain.IDCheckChar(first17))
	reg := p.must(http.StatusCreated, http.MethodPost, "/v1/cardholders", bearerCred(admin), map[string]string{
		"id_number": idNo, "name": "李四", "sex": string(domain.SexOf(idNo)), "nationality": "CHN", "region_code": "320506",
		"phone": "13800000000", "employer_code": "E001", "community_code": "C001"})
	id := reg["cardholder_id"].(string)
	issued := p.must(http.StatusOK, http.MethodPost, "/v1/cardholders/"+id+"/instant-issuance", bearerCred(admin), map[string]string{
		"bank_code": "102", "account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	if status, body := p.call(http.MethodPost, "/v1/cards/"+issued["card_no"].(string)+"/activation", bearerCred(admin), map[string]string{}); status != http.StatusOK {
		require.Equal(p.t, http.StatusConflict, status, "activation: %v", body)
	}
	p.must(http.StatusOK, http.MethodPost, "/v1/ecard/bindings", bearerCred(channelKey), map[string]any{
		"id_number": idNo, "name": "李四", "scopes": []string{"identity"}})
	return id
}

// paymentCode is a payment code the channel makes for the holder.
func paymentCode(p payAPI, channelKey, holder string) string {
	p.t.Helper()
	return p.must(http.StatusCreated, http.MethodPost, "/v1/ecard/payment-codes", bearerCred(channelKey),
		map[string]any{"cardholder_id": holder})["code"].(string)
}
