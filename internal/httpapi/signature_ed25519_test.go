package httpapi_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// testEd25519 is the private key of the signers' "icbc-ed" client.
var testEd25519 = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

func ed25519Request(t *testing.T, client, body, nonce string, at time.Time) *http.Request {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/v1/cards/A12345678/loss", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	require.NoError(t, httpapi.SignRequestEd25519(req, client, testEd25519, nonce, at))
	return req
}

func TestEd25519SignedRequestAuthenticates(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	e := signedServer(t, now)
	first := ed25519Request(t, "icbc-ed", `{"reason":"lost"}`, "nonce-ed-00000001", now)
	replay := first.Clone(context.Background())
	replay.Body = io.NopCloser(strings.NewReader(`{"reason":"lost"}`))
	rec := serve(e, first)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.JSONEq(t, `{"client":"icbc-ed","method":"ed25519","reason":"lost"}`, rec.Body.String())

	rec = serve(e, replay)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, httpapi.CodeNonceReplayed, problemOf(t, rec).Code)

	tampered := ed25519Request(t, "icbc-ed", `{"reason":"lost"}`, "nonce-ed-00000002", now)
	tampered.Body = io.NopCloser(strings.NewReader(`{"reason":"stolen"}`))
	rec = serve(e, tampered)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, httpapi.CodeSignatureInvalid, problemOf(t, rec).Code)
}

// A client is checked under the scheme of its registered credential only,
// and the scheme is the canonical string's first line: no signature made
// under one scheme passes under the other.
func TestSignatureSchemesAreSeparated(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	pub := testEd25519.Public().(ed25519.PublicKey)
	cases := []struct {
		name string
		req  func() *http.Request
	}{
		{"HMAC keyed with the Ed25519 client's public key", func() *http.Request {
			req := ed25519Request(t, "icbc-ed", `{}`, "nonce-sep-0000001", now)
			require.NoError(t, httpapi.SignRequest(req, "icbc-ed", pub, "nonce-sep-0000001", now))
			return req
		}},
		{"Ed25519 signature sent by an HMAC client", func() *http.Request {
			return ed25519Request(t, "icbc-gw", `{}`, "nonce-sep-0000002", now)
		}},
		{"Ed25519 signature of the HMAC canonical string", func() *http.Request {
			req := ed25519Request(t, "icbc-ed", `{}`, "nonce-sep-0000003", now)
			s, err := httpapi.ParseSignedRequest(req, []byte(`{}`))
			require.NoError(t, err)
			s.Scheme = httpapi.SignatureScheme
			req.Header.Set(httpapi.HeaderSignature, hex.EncodeToString(ed25519.Sign(testEd25519, []byte(s.CanonicalString()))))
			return req
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(signedServer(t, now), tc.req())
			require.Equal(t, http.StatusUnauthorized, rec.Code, rec.Body.String())
			assert.Equal(t, httpapi.CodeSignatureInvalid, problemOf(t, rec).Code)
		})
	}

	req := ed25519Request(t, "icbc-ed", `{}`, "0123456789abcdef", time.Unix(1772355600, 0))
	s, err := httpapi.ParseSignedRequest(req, []byte(`{}`))
	require.NoError(t, err)
	assert.NoError(t, s.Verify(httpapi.Ed25519Key(pub), time.Unix(1772355600, 0)))
	assert.ErrorIs(t, s.Verify(httpapi.HMACKey(pub), time.Unix(1772355600, 0)), httpapi.ErrSignatureInvalid)
	s.Scheme = httpapi.SignatureSchemeEd25519
	assert.Equal(t, "CL1-ED25519\nPOST\n/v1/cards/A12345678/loss\n1772355600\n0123456789abcdef\nicbc-ed\n"+
		"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", s.CanonicalString(),
		"the HMAC layout with its first line changed")
}

// The worked example of docs/platform.md: Ed25519 signatures are
// deterministic, so this pins the documented signature.
func TestEd25519WorkedExampleOfTheDocs(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	req := httptest.NewRequest(http.MethodGet, "/v1/blacklist/A12345678", nil)
	require.NoError(t, httpapi.SignRequestEd25519(req, "app-8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d", priv, "n0nce-5f1c2a9e7b3d",
		time.Unix(1764927000, 0)))
	assert.Equal(t, "d53d7862775d1a3df05109b6e7e5edcffacfebde03f69b2f53ef7fe12dc118c45a1ffe8f429d6cd048742f0ac503235432ce2cd5281479efd4af7b568fcd1800",
		req.Header.Get(httpapi.HeaderSignature))
}
