package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// The counter demo's card is one the seeded city has: demo-card prints the
// emulator options of an active card of the city, and the server answers
// for that card and its holder's ID number with the same person.
func TestDemoCardIsAnActiveCardOfTheCity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "error"}
	code, _, errOut := cliRun(ctx, vars, "migrate")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = cliRun(ctx, vars, "demo-card")
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "seed the demo city first", "an empty system says what to do")
	code, _, errOut = cliRun(ctx, vars, "seed", "--people", "40", "--months", "2")
	require.Equal(t, 0, code, errOut)

	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	b := bootMigrated(t, ctx, env) // its projections fill the read model
	var out string
	require.Eventually(t, func() bool {
		code, out, _ = cliRun(ctx, vars, "demo-card")
		return code == 0
	}, time.Minute, 100*time.Millisecond)
	opts := map[string]string{}
	fields := strings.Fields(out)
	require.Len(t, fields, 18, out)
	for i := 0; i+1 < len(fields); i += 2 {
		opts[strings.TrimPrefix(fields[i], "--")] = fields[i+1]
	}
	assert.Regexp(t, `^\d{8}$`, opts["birth"])
	assert.Equal(t, "320500", opts["region"], "the card of the demo city (CARDLEDGER_CITY_CODE default)")

	key, err := auth.Add(ctx, b.d.pool, auth.Client{Name: "demo-admin", Role: httpapi.RoleAdmin})
	require.NoError(t, err)
	get := func(path string, v any) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.srv.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		require.Equal(t, http.StatusOK, res.StatusCode, path)
		require.NoError(t, json.NewDecoder(res.Body).Decode(v))
	}
	var card struct {
		Status       string `json:"status"`
		CardholderID string `json:"cardholder_id"`
		ExpiresOn    string `json:"expires_on"`
	}
	get("/v1/cards/"+opts["card-number"], &card)
	assert.Equal(t, "active", card.Status)
	assert.Equal(t, strings.ReplaceAll(card.ExpiresOn, "-", ""), opts["expiry-date"])
	var holder struct {
		CardholderID string `json:"cardholder_id"`
		Name         string `json:"name"`
	}
	get("/v1/cardholders?id_number="+opts["ssn"], &holder)
	assert.Equal(t, card.CardholderID, holder.CardholderID, "the chip's ID number is the card holder's")
	assert.Equal(t, holder.Name, opts["name"])
	var listed struct {
		Listed bool `json:"listed"`
	}
	get("/v1/blacklist/"+opts["card-number"], &listed)
	assert.False(t, listed.Listed, "cardbridge accepts it")
}
