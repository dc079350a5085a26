package httpapi_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/httpapi"
)

func TestRegionCovers(t *testing.T) {
	cases := []struct {
		scope, code string
		want        bool
	}{
		{"", "320506", true},
		{"", "", true},
		{"320500", "320506", true},  // the city covers its counties
		{"320500", "320500", true},  // and itself
		{"320500", "320601", false}, // not another city
		{"320506", "320506", true},
		{"320506", "320505", false}, // a county never another county
		{"320506", "320500", false}, // nor its city
		{"320000", "320506", true},  // a province covers all below
		{"320000", "330106", false},
		{"320500", "", false}, // unknown region: only the unrestricted
	}
	for _, tc := range cases {
		assert.Equal(t, tc.want, httpapi.RegionCovers(tc.scope, tc.code), "scope %q code %q", tc.scope, tc.code)
	}
}

func TestScopeCheckNamesTheFailedScope(t *testing.T) {
	cases := []struct {
		name         string
		scope        httpapi.Scope
		region, bank string
		code         string
	}{
		{"unrestricted", httpapi.Scope{}, "320506", "102", ""},
		{"county, own", httpapi.Scope{Region: "320506"}, "320506", "102", ""},
		{"county, other county", httpapi.Scope{Region: "320505"}, "320506", "102", httpapi.CodeScopeRegion},
		{"city, its county", httpapi.Scope{Region: "320500"}, "320506", "102", ""},
		{"bank, own card", httpapi.Scope{Bank: "102"}, "320506", "102", ""},
		{"bank, no card yet", httpapi.Scope{Bank: "102"}, "320506", "", ""},
		{"bank, other bank", httpapi.Scope{Bank: "103"}, "320506", "102", httpapi.CodeScopeBank},
		{"region fails first", httpapi.Scope{Region: "320505", Bank: "103"}, "320506", "102", httpapi.CodeScopeRegion},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.scope.Check(tc.region, tc.bank)
			if tc.code == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, httpapi.ErrOutOfScope)
			var se *httpapi.ScopeError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, tc.code, se.Code)
			assert.Equal(t, http.StatusForbidden, se.Problem().Status)
			assert.Equal(t, tc.code, se.Problem().Code)
		})
	}
}

// A handler's scope denial leaves as 403 naming the scope, and is logged as
// a denial with the client and its scope.
func TestScopeDenialIsProblemAndLogged(t *testing.T) {
	var logs strings.Builder
	log := logrus.New()
	log.SetFormatter(&logrus.JSONFormatter{})
	log.SetOutput(&logs)
	auth := httpapi.StaticAuthenticator{"county-key": {Client: "wuzhong-1", Role: httpapi.RoleCounter, Region: "320506"}}
	e := httpapi.NewServer(httpapi.Options{Auth: auth, Log: log}, []httpapi.Route{{
		Method: http.MethodPost, Path: "/v1/things/{region}", Roles: []httpapi.Role{httpapi.RoleCounter},
		Responses: []httpapi.Response{{Status: http.StatusNoContent}},
		Handler: func(c echo.Context) error {
			p, _ := httpapi.PrincipalFrom(c)
			if err := p.Scope().Check(c.Param("region"), ""); err != nil {
				return errors.Join(errors.New("load thing"), err)
			}
			return c.NoContent(http.StatusNoContent)
		},
	}})
	rec := do(e, http.MethodPost, "/v1/things/320506", "county-key", "")
	require.Equal(t, http.StatusNoContent, rec.Code)

	logs.Reset()
	rec = do(e, http.MethodPost, "/v1/things/320505", "county-key", "")
	require.Equal(t, http.StatusForbidden, rec.Code)
	p := problemOf(t, rec)
	assert.Equal(t, httpapi.CodeScopeRegion, p.Code)
	assert.Equal(t, "this client may act only on cardholders of region 320506", p.Detail)

	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(logs.String())), &line))
	assert.Equal(t, "warning", line["level"])
	assert.Equal(t, "http request denied", line["msg"])
	assert.Equal(t, "scope_region", line["problem"])
	assert.Equal(t, "wuzhong-1", line["client"])
	assert.Equal(t, "320506", line["scope_region"])
}
