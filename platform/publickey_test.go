package platform_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// signedEd25519 is a request to path signed by client with priv (body
// sent as signed unless sent is given), ready to send, and resent as is.
func (h *harness) signedEd25519(client string, priv ed25519.PrivateKey, nonce, body string, sent ...string) func() (int, map[string]any) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.srv.URL+"/v1/test/identity", bytes.NewReader([]byte(body)))
	require.NoError(h.t, err)
	require.NoError(h.t, httpapi.SignRequestEd25519(req, client, priv, nonce, time.Now()))
	if len(sent) > 0 {
		body = sent[0]
	}
	return func() (int, map[string]any) {
		r := req.Clone(req.Context())
		r.Body = io.NopCloser(bytes.NewReader([]byte(body)))
		r.ContentLength = int64(len(body))
		res, err := http.DefaultClient.Do(r)
		require.NoError(h.t, err)
		defer res.Body.Close()
		out := map[string]any{}
		b, _ := io.ReadAll(res.Body)
		require.NoError(h.t, json.Unmarshal(b, &out), string(b))
		return res.StatusCode, out
	}
}

func TestAppSignsWithItsOwnEd25519Key(t *testing.T) {
	h := newHarness(t, 10)
	_, integrator := h.registerApproved()
	_, otherKey := h.registerApproved()
	status, body, _ := h.call(http.MethodPost, "/v1/platform/apps", bearer(integrator), map[string]any{"name": "自助机",
		"type": domain.AppIdentityReading, "channels": []string{"card"}, "per_minute": 100, "per_day": 1000})
	require.Equal(t, http.StatusCreated, status, body)
	appID := body["app"].(map[string]any)["id"].(string)
	hmacApp := credential{client: body["client"].(string), secret: body["secret"].(string)}
	status, body, _ = h.call(http.MethodGet, "/v1/test/identity", hmacApp, nil)
	require.Equal(t, http.StatusOK, status, body)

	first := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	second := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	pub := func(k ed25519.PrivateKey) string {
		return base64.StdEncoding.EncodeToString(k.Public().(ed25519.PublicKey))
	}
	keyPath := "/v1/platform/apps/" + appID + "/public-key"

	status, body, _ = h.call(http.MethodPut, keyPath, bearer(integrator), map[string]any{"public_key": "c2hvcnQ="})
	require.Equal(t, http.StatusBadRequest, status, body)
	assert.Equal(t, "public_key", body["errors"].([]any)[0].(map[string]any)["field"])
	assert.Equal(t, domain.CodeInvalidPublicKey, body["errors"].([]any)[0].(map[string]any)["code"])
	status, body, _ = h.call(http.MethodPut, keyPath, bearer(otherKey), map[string]any{"public_key": pub(first)})
	require.Equal(t, http.StatusForbidden, status, body)
	status, body, _ = h.call(http.MethodGet, "/v1/test/identity", hmacApp, nil)
	require.Equal(t, http.StatusOK, status, "refused registrations change nothing: %v", body)

	status, body, _ = h.call(http.MethodPut, keyPath, bearer(integrator), map[string]any{"public_key": pub(first)})
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, httpapi.SignatureSchemeEd25519, body["app"].(map[string]any)["signature_scheme"])
	assert.Equal(t, pub(first), body["app"].(map[string]any)["public_key"])

	// Signed with the key: allowed; a replay of the nonce is not.
	call := h.signedEd25519(hmacApp.client, first, "ed25519-nonce-0001", `{"q":1}`)
	status, body = call()
	require.Equal(t, http.StatusOK, status, body)
	status, body = call()
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, httpapi.CodeNonceReplayed, code(body))

	// A wrong key, a tampered body, the old HMAC secret: 401.
	status, body = h.signedEd25519(hmacApp.client, second, "ed25519-nonce-0002", "")()
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, httpapi.CodeSignatureInvalid, code(body))
	status, body = h.signedEd25519(hmacApp.client, first, "ed25519-nonce-0003", `{"q":1}`, `{"q":2}`)()
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, httpapi.CodeSignatureInvalid, code(body))
	status, body, _ = h.call(http.MethodGet, "/v1/test/identity", hmacApp, nil)
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, httpapi.CodeSignatureInvalid, code(body))

	// Rotation: a new key replaces the old.
	status, body, _ = h.call(http.MethodPut, keyPath, bearer(integrator), map[string]any{"public_key": pub(second)})
	require.Equal(t, http.StatusOK, status, body)
	status, _ = h.signedEd25519(hmacApp.client, first, "ed25519-nonce-0004", "")()
	assert.Equal(t, http.StatusUnauthorized, status)
	status, body = h.signedEd25519(hmacApp.client, second, "ed25519-nonce-0005", "")()
	assert.Equal(t, http.StatusOK, status, body)

	// A new secret goes back to HMAC: the key stops working.
	status, body, _ = h.call(http.MethodPost, "/v1/platform/apps/"+appID+"/secret", bearer(integrator), nil)
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, httpapi.SignatureScheme, body["app"].(map[string]any)["signature_scheme"])
	status, body, _ = h.call(http.MethodGet, "/v1/test/identity", credential{client: hmacApp.client, secret: body["secret"].(string)}, nil)
	assert.Equal(t, http.StatusOK, status, body)
	status, _ = h.signedEd25519(hmacApp.client, second, "ed25519-nonce-0006", "")()
	assert.Equal(t, http.StatusUnauthorized, status)

	// Revocation: the key is refused for good.
	status, body, _ = h.call(http.MethodPut, keyPath, bearer(integrator), map[string]any{"public_key": pub(second)})
	require.Equal(t, http.StatusOK, status, body)
	status, body, _ = h.call(http.MethodPost, "/v1/platform/apps/"+appID+"/revocation", bearer(integrator), nil)
	require.Equal(t, http.StatusOK, status, body)
	status, body = h.signedEd25519(hmacApp.client, second, "ed25519-nonce-0007", "")()
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, httpapi.CodeUnauthenticated, code(body))
	status, body, _ = h.call(http.MethodPut, keyPath, bearer(integrator), map[string]any{"public_key": pub(first)})
	assert.Equal(t, http.StatusConflict, status)
	assert.Equal(t, domain.CodeAppRevoked, code(body))
}
