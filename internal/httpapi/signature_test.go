package httpapi_test

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// memorySigners is an in-process SignedAuthenticator; internal/auth has the
// PostgreSQL one, tested there against a real database.
type memorySigners struct {
	secrets map[string]httpapi.VerificationKey
	mu      sync.Mutex
	used    map[string]bool
}

func (m *memorySigners) SigningKey(_ context.Context, client string) (httpapi.Principal, httpapi.VerificationKey, error) {
	s, ok := m.secrets[client]
	if !ok {
		return httpapi.Principal{}, httpapi.VerificationKey{}, httpapi.ErrUnauthenticated
	}
	return httpapi.Principal{Client: client, Role: httpapi.RoleBank, Bank: "102"}, s, nil
}

func (m *memorySigners) UseNonce(_ context.Context, client, nonce string, _ time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.used[client+"\x00"+nonce] {
		return httpapi.ErrNonceReplayed
	}
	m.used[client+"\x00"+nonce] = true
	return nil
}

var testSecret = []byte("cls_test-secret-of-the-bank-client")

func signedServer(t *testing.T, now time.Time) *echo.Echo {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	signers := &memorySigners{secrets: map[string]httpapi.VerificationKey{"icbc-gw": httpapi.HMACKey(testSecret),
		"icbc-ed": httpapi.Ed25519Key(testEd25519.Public().(ed25519.PublicKey))}, used: map[string]bool{}}
	return httpapi.NewServer(httpapi.Options{
		Auth: httpapi.StaticAuthenticator{"bank-key": {Client: "icbc", Role: httpapi.RoleBank}}, Signed: signers,
		Log: log, Now: func() time.Time { return now },
	}, []httpapi.Route{{
		Method: http.MethodPost, Path: "/v1/cards/{card_no}/loss", Roles: []httpapi.Role{httpapi.RoleBank},
		Request: map[string]string{"reason": "lost"}, Response: map[string]string{"client": "icbc-gw", "method": "hmac", "reason": "lost"},
		Handler: func(c echo.Context) error {
			var body map[string]string
			if err := httpapi.DecodeJSON(c, &body); err != nil {
				return err
			}
			p, _ := httpapi.PrincipalFrom(c)
			return c.JSON(http.StatusOK, map[string]string{"client": p.Client, "method": p.Method, "reason": body["reason"]})
		},
	}})
}

func signedRequest(t *testing.T, target, body, nonce string, at time.Time) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	require.NoError(t, httpapi.SignRequest(req, "icbc-gw", testSecret, nonce, at))
	return req
}

func serve(e *echo.Echo, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

func TestSignedRequestAuthenticates(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	e := signedServer(t, now)
	rec := serve(e, signedRequest(t, "/v1/cards/A12345678/loss?dry=1", `{"reason":"lost"}`, "nonce-0000000001", now.Add(-time.Minute)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"client":"icbc-gw","method":"hmac","reason":"lost"}`, rec.Body.String(), "the handler still reads the body")
}

func TestSignedRequestRefusals(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	const target, body = "/v1/cards/A12345678/loss", `{"reason":"lost"}`
	cases := []struct {
		name string
		req  func() *http.Request
		code string
	}{
		{"stale timestamp", func() *http.Request {
			return signedRequest(t, target, body, "nonce-stale-00001", now.Add(-maxSkewPlus(time.Second)))
		}, httpapi.CodeSignatureStale},
		{"timestamp from the future", func() *http.Request {
			return signedRequest(t, target, body, "nonce-future-0001", now.Add(maxSkewPlus(time.Second)))
		}, httpapi.CodeSignatureStale},
		{"body changed", func() *http.Request {
			req := signedRequest(t, target, body, "nonce-body-000001", now)
			req.Body = io.NopCloser(strings.NewReader(`{"reason":"stolen"}`))
			return req
		}, httpapi.CodeSignatureInvalid},
		{"path changed", func() *http.Request {
			req := signedRequest(t, target, body, "nonce-path-000001", now)
			signed := req.Header.Clone()
			req = httptest.NewRequest(http.MethodPost, "/v1/cards/B87654321/loss", strings.NewReader(body))
			req.Header = signed
			return req
		}, httpapi.CodeSignatureInvalid},
		{"query changed", func() *http.Request {
			req := signedRequest(t, target+"?a=1", body, "nonce-query-00001", now)
			signed := req.Header.Clone()
			req = httptest.NewRequest(http.MethodPost, target+"?a=2", strings.NewReader(body))
			req.Header = signed
			return req
		}, httpapi.CodeSignatureInvalid},
		{"other client's name", func() *http.Request {
			req := signedRequest(t, target, body, "nonce-client-0001", now)
			req.Header.Set(httpapi.HeaderClient, "other")
			return req
		}, httpapi.CodeUnauthenticated},
		{"short nonce", func() *http.Request {
			req := signedRequest(t, target, body, "nonce-short-0001", now)
			req.Header.Set(httpapi.HeaderNonce, "abc")
			return req
		}, httpapi.CodeSignatureMalformed},
		{"signature not hex", func() *http.Request {
			req := signedRequest(t, target, body, "nonce-hex-0000001", now)
			req.Header.Set(httpapi.HeaderSignature, strings.Repeat("Z", 64))
			return req
		}, httpapi.CodeSignatureMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := signedServer(t, now)
			rec := serve(e, tc.req())
			require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
			assert.Equal(t, tc.code, problemOf(t, rec).Code)
		})
	}
}

func maxSkewPlus(d time.Duration) time.Duration { return httpapi.MaxClockSkew + d }

func TestReplayedNonceIsRefused(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	e := signedServer(t, now)
	first := signedRequest(t, "/v1/cards/A12345678/loss", `{"reason":"lost"}`, "nonce-replay-0001", now)
	replay := first.Clone(context.Background())
	replay.Body = io.NopCloser(strings.NewReader(`{"reason":"lost"}`))
	require.Equal(t, http.StatusOK, serve(e, first).Code)
	rec := serve(e, replay)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, httpapi.CodeNonceReplayed, problemOf(t, rec).Code)

	// A bad signature does not spend the nonce of a genuine request.
	forged := signedRequest(t, "/v1/cards/A12345678/loss", `{"reason":"lost"}`, "nonce-genuine-001", now)
	forged.Header.Set(httpapi.HeaderSignature, strings.Repeat("0", 64))
	require.Equal(t, http.StatusUnauthorized, serve(e, forged).Code)
	genuine := signedRequest(t, "/v1/cards/A12345678/loss", `{"reason":"lost"}`, "nonce-genuine-001", now)
	assert.Equal(t, http.StatusOK, serve(e, genuine).Code)
}

// The canonical string is part of the public contract (README): this pins it.
func TestCanonicalStringLayout(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/v1/cards/A12345678/loss?x=1", strings.NewReader(`{}`))
	s, err := httpapi.ParseSignedRequest(req, []byte(`{}`))
	require.Error(t, err, "no headers yet")
	s.Client, s.Timestamp, s.Nonce = "icbc-gw", "1772355600", "0123456789abcdef"
	assert.Equal(t, "CL1-HMAC-SHA256\nPOST\n/v1/cards/A12345678/loss?x=1\n1772355600\n0123456789abcdef\nicbc-gw\n"+
		"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", s.CanonicalString())
	assert.Equal(t, fmt.Sprintf("%x", hmacSHA256(testSecret, s.CanonicalString())), s.Compute(testSecret))
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// The body limit holds before the signature is checked: a signed request
// cannot make the server hash an unbounded body.
func TestSignedRequestBodyIsLimited(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	e := signedServer(t, now)
	big := `{"reason":"` + strings.Repeat("x", int(httpapi.DefaultMaxBody)) + `"}`
	req := signedRequest(t, "/v1/cards/A12345678/loss", big, "nonce-big-0000001", now)
	req.ContentLength = -1 // streamed: the limit must hold while reading, not only on the header
	rec := serve(e, req)
	require.Equal(t, http.StatusRequestEntityTooLarge, rec.Code, rec.Body.String())
	assert.Equal(t, httpapi.CodeBodyTooLarge, problemOf(t, rec).Code)
}
