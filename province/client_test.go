package province

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// A province answering with these bodies is unusable: the client says so
// (ErrProvinceUnavailable) instead of handing half-read records on.
func TestClientRefusesAnswersItCannotUse(t *testing.T) {
	for name, tc := range map[string]struct {
		status int
		body   string
	}{
		"cut JSON":            {200, `{"cards":[{"card_no":"B1000`},
		"HTML":                {200, `<html>maintenance</html>`},
		"no cards array":      {200, `{}`},
		"two values":          {200, `{"cards":[]}{"cards":[]}`},
		"bad card number":     {200, `{"cards":[{"id_number":"x","card_no":"B1","region":"110105","status":"active"}]}`},
		"unknown status":      {200, `{"cards":[{"id_number":"x","card_no":"B00000001","region":"110105","status":"valid"}]}`},
		"bad region":          {200, `{"cards":[{"id_number":"x","card_no":"B00000001","region":"北京","status":"active"}]}`},
		"4xx without a code":  {404, `not found`},
		"5xx":                 {502, `{"code":"bad_gateway"}`},
		"redirect not follow": {302, ``},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.status == 302 {
					w.Header().Set("Location", "http://169.254.169.254/")
				}
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			c, err := NewClient(srv.URL, "", time.Second)
			require.NoError(t, err)
			_, err = c.Cards(context.Background(), "110105199001011234")
			assert.ErrorIs(t, err, commands.ErrProvinceUnavailable)
		})
	}
}

func TestClientPassesTheProvincesRefusalOn(t *testing.T) {
	sim, err := NewSimulator(SimulatorOptions{})
	require.NoError(t, err)
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := NewClient(srv.URL, "", time.Second)
	require.NoError(t, err)
	_, err = c.Transfer(context.Background(), "110105199001011234", "B00000001", "440304")
	r, ok := errors.AsType[*commands.ProvinceRefusal](err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, http.StatusNotFound, r.Status)
	assert.Equal(t, "card_not_found", r.Code)

	wrong, err := NewClient(srv.URL, "", time.Second)
	require.NoError(t, err)
	tokened, err := NewSimulator(SimulatorOptions{Token: "t"})
	require.NoError(t, err)
	srv2 := httptest.NewServer(tokened.Handler())
	defer srv2.Close()
	wrong.base.Host = srv2.Listener.Addr().String()
	_, err = wrong.Cards(context.Background(), "110105199001011234")
	r, ok = errors.AsType[*commands.ProvinceRefusal](err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, "unauthenticated", r.Code)
}

// The simulator keeps its records in the data file across a restart, and
// refuses an upload that would take another city's card.
func TestSimulatorDataFileAndUploadRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "province.json")
	sim, err := NewSimulator(SimulatorOptions{DataFile: file})
	require.NoError(t, err)
	id := "11010519900101123" + string(domain.IDCheckChar("11010519900101123"))
	beijing := commands.ProvinceCard{IDNumber: id, ProvincialCard: domain.ProvincialCard{
		CardNo: "B00000001", Region: "110105", Status: domain.StatusActive}}
	require.NoError(t, sim.Put(beijing))
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, err := NewClient(srv.URL, "", time.Second)
	require.NoError(t, err)
	mine := beijing
	mine.Region = "440304"
	rejected, err := c.Upload(context.Background(), []commands.ProvinceCard{mine})
	require.NoError(t, err)
	require.Len(t, rejected, 1)
	assert.Equal(t, "card_of_another_region", rejected[0].Code)

	again, err := NewSimulator(SimulatorOptions{DataFile: file})
	require.NoError(t, err)
	rec, ok := again.Record("B00000001")
	require.True(t, ok)
	assert.Equal(t, "110105", rec.Region)
}
