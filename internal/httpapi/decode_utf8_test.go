package httpapi_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
)

// Text that would not survive decoding as sent (bytes that are not UTF-8,
// or a \u escape of half a UTF-16 surrogate pair) is refused: encoding/json
// would store U+FFFD in its place.
func TestDecodeJSONRefusesTextThatIsNotUnicode(t *testing.T) {
	type item struct {
		Note string `json:"note"`
	}
	type body struct {
		Reason string             `json:"reason"`
		Nested struct{ X string } `json:"nested"`
		Items  []item             `json:"items"`
		Tags   map[string]string  `json:"tags"`
	}
	e := echo.New()
	for _, tc := range []struct {
		name, raw, field string
	}{
		{"byte 0xff", "{\"reason\":\"lost \xff\"}", "reason"},
		{"truncated sequence", "{\"reason\":\"\xe5\x8c\"}", "reason"},
		{"overlong slash", "{\"reason\":\"a\xc0\xafb\"}", "reason"},
		{"surrogate as UTF-8", "{\"reason\":\"\xed\xa0\x80\"}", "reason"},
		{"lone high surrogate escape", `{"reason":"\ud83d"}`, "reason"},
		{"high surrogate then other escape", `{"reason":"\ud83d\u0041"}`, "reason"},
		{"lone low surrogate escape", `{"reason":"x\ude00"}`, "reason"},
		{"nested", "{\"reason\":\"ok\",\"nested\":{\"X\":\"\xff\"}}", "nested.X"},
		{"in an array", "{\"items\":[{\"note\":\"a\"},{\"note\":\"\xfe\"}]}", "items[1].note"},
		{"in a map key", "{\"tags\":{\"\xff\":\"v\"}}", "tags"},
		{"in a key", "{\"re\xffason\":\"x\"}", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, decode := range []func(echo.Context, any) error{httpapi.DecodeJSON, httpapi.DecodeOptionalJSON} {
				req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tc.raw))
				var got body
				err := decode(e.NewContext(req, httptest.NewRecorder()), &got)
				var p *httpapi.Problem
				require.ErrorAs(t, err, &p)
				assert.Equal(t, http.StatusBadRequest, p.Status)
				assert.Equal(t, httpapi.CodeInvalidUTF8, p.Code)
				if tc.field == "" {
					assert.Empty(t, p.Errors)
					continue
				}
				require.Len(t, p.Errors, 1)
				assert.Equal(t, tc.field, p.Errors[0].Field)
				assert.Equal(t, httpapi.CodeInvalidUTF8, p.Errors[0].Code)
			}
		})
	}
}

func TestDecodeJSONKeepsValidText(t *testing.T) {
	var got struct {
		Reason string `json:"reason"`
	}
	raw := `{"reason":"丢失 \ud83d\ude00 😀 \u00e9 \\ud800"}`
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(raw))
	require.NoError(t, httpapi.DecodeJSON(echo.New().NewContext(req, httptest.NewRecorder()), &got))
	assert.Equal(t, "丢失 😀 😀 é \\ud800", got.Reason, "an escaped backslash before u is not an escape")
}

// Whatever DecodeJSON accepts decodes to the text sent: no U+FFFD appears
// that the body did not spell out itself.
func FuzzDecodeJSONNeverInventsReplacementCharacters(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`, `{"a":["\ud83d\ude00",{"\udfff":1}]}`,
		`{"a":"\\ud800"}`, `{"a":"\ufffd"}`, "{\"a\":\"\xef\xbf\xbd\"}", `{"a":"\ud800\ud800"}`} {
		f.Add([]byte(s))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		var v any
		err := httpapi.DecodeJSON(e.NewContext(req, httptest.NewRecorder()), &v)
		if err != nil {
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted a body that is not UTF-8: %q", body)
		}
		spelled := bytes.Contains(body, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(body), []byte(`\ufffd`))
		if !spelled && strings.ContainsRune(fmt.Sprint(v), utf8.RuneError) {
			t.Fatalf("%q decoded to %q", body, fmt.Sprint(v))
		}
	})
}

// Path and query parameters are text a handler may record too: they must
// be UTF-8 (after percent-decoding) or the request is refused.
func TestParametersThatAreNotUTF8AreRefused(t *testing.T) {
	e := testServer(t, nil)
	for _, tc := range []struct{ name, path, field string }{
		{"path parameter", "/v1/greetings/zh%FFang", "who"},
		{"query value", "/v1/greetings/zhang?note=%E5%8C", "note"},
		{"query name", "/v1/greetings/zhang?n%FFote=1", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(e, http.MethodPost, tc.path, "counter-key", `{"name":"x"}`)
			require.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			p := problemOf(t, rec)
			assert.Equal(t, httpapi.CodeInvalidUTF8, p.Code)
			if tc.field == "" {
				assert.Empty(t, p.Errors)
				return
			}
			require.Len(t, p.Errors, 1)
			assert.Equal(t, tc.field, p.Errors[0].Field)
		})
	}
	rec := do(e, http.MethodPost, "/v1/greetings/%E5%BC%A0?note=%E4%B8%89", "counter-key", `{"name":"x"}`)
	require.Equal(t, http.StatusCreated, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"who":"张"`)
	rec = do(e, http.MethodPost, "/v1/greetings/zh%FFang", "", `{"name":"x"}`)
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "authentication comes first")
}
