package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
)

func TestDecodeOptionalJSONAcceptsAnEmptyBody(t *testing.T) {
	type body struct {
		Reason string `json:"reason"`
	}
	e := echo.New()
	for _, tc := range []struct {
		name, raw string
		want      body
		code      string
	}{
		{"empty", "", body{Reason: "default"}, ""},
		{"given", `{"reason":"lost"}`, body{Reason: "lost"}, ""},
		{"still strict", `{"reason":"lost","pin":"1234"}`, body{}, httpapi.CodeUnknownField},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.raw))
			c := e.NewContext(req, httptest.NewRecorder())
			got := body{Reason: "default"}
			err := httpapi.DecodeOptionalJSON(c, &got)
			if tc.code != "" {
				var p *httpapi.Problem
				require.ErrorAs(t, err, &p)
				assert.Equal(t, tc.code, p.Code)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestReadBodyLeavesTheBodyForDecoding(t *testing.T) {
	e := echo.New()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{"reason":"x"}`))
	c := e.NewContext(req, httptest.NewRecorder())
	raw, err := httpapi.ReadBody(c)
	require.NoError(t, err)
	assert.Equal(t, `{"reason":"x"}`, string(raw))
	var v struct {
		Reason string `json:"reason"`
	}
	require.NoError(t, httpapi.DecodeJSON(c, &v))
	assert.Equal(t, "x", v.Reason)

	req = httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`x`))
	req.Header.Set("Content-Type", "text/csv")
	_, err = httpapi.ReadBody(e.NewContext(req, httptest.NewRecorder()))
	var p *httpapi.Problem
	require.ErrorAs(t, err, &p)
	assert.Equal(t, http.StatusUnsupportedMediaType, p.Status)
}
