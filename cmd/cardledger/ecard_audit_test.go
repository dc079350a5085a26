package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/audit"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// What an e-card channel does for a holder shows in GET /v1/audit: the
// commands in the holder's stream and the reads under consent in the
// holder's access log, each row naming the channel; so does a risk alert.
func TestChannelActionsShowInTheAuditTrail(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	vars := map[string]string{"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t), "CARDLEDGER_LOG_LEVEL": "warn", "CARDLEDGER_RATE_LIMIT": "0"}
	b := boot(t, ctx, &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }})
	keys := map[string]string{}
	for _, c := range []auth.Client{
		{Name: "ops", Role: httpapi.RoleAdmin},
		{Name: "rsapp-1", Role: httpapi.RoleChannel, Channel: "rsapp"},
		{Name: "city-audit", Role: httpapi.RoleAuditor},
	} {
		key, err := auth.Add(ctx, b.d.pool, c)
		require.NoError(t, err)
		keys[c.Name] = key
	}
	api := &service{url: b.srv.URL, key: keys["ops"]}
	as := func(client string) *service { return &service{url: b.srv.URL, key: keys[client]} }

	status, reg := api.do(t, "POST", "/v1/cardholders", map[string]string{"id_number": "11010519491231002X", "name": "张三",
		"nationality": "CHN", "region_code": "320508"})
	require.Equal(t, http.StatusCreated, status, "%v", reg)
	id := reg["cardholder_id"].(string)
	status, res := api.do(t, "POST", "/v1/cardholders/"+id+"/instant-issuance", map[string]string{"bank_code": "102",
		"account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	require.Equal(t, http.StatusOK, status, "%v", res)
	card := res["card_no"].(string)

	status, res = as("rsapp-1").do(t, "POST", "/v1/ecard/bindings", map[string]any{"id_number": "11010519491231002X", "name": "张三",
		"scopes": []string{"self_service", "card_status"}})
	require.Equal(t, http.StatusOK, status, "%v", res)
	status, res = as("rsapp-1").do(t, "POST", "/v1/cardholders/"+id+"/self-service/temporary-loss", map[string]string{"reason": "lost"})
	require.Equal(t, http.StatusOK, status, "%v", res)
	status, res = as("rsapp-1").do(t, "GET", "/v1/cardholders/"+id+"/self-service/status", nil)
	require.Equal(t, http.StatusOK, status, "%v", res)

	// The code verifier raises the alert through the service.
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	_, err := b.a.commands.Service().Cardholder.Handle(ctx, commands.CardholderCommand{
		Envelope: commands.NewEnvelope(domain.Actor{Client: "ecard-verifier"}, "ecard"), CardholderID: id,
		Command: domain.RaiseECardRiskAlert{CardNo: card, FirstRegion: "320508", SecondRegion: "110105",
			FirstAt: at, SecondAt: at.Add(4 * time.Minute), FirstTerminal: "A001", SecondTerminal: "B002"}})
	require.NoError(t, err)

	trail := func(actor string, want int) []audit.Action {
		var got audit.Actions
		require.Eventually(t, func() bool {
			status, raw := getRaw(t, as("city-audit"), "/v1/audit?actor="+actor)
			require.Equal(t, http.StatusOK, status, "%s", raw)
			got = audit.Actions{}
			require.NoError(t, json.Unmarshal(raw, &got))
			return len(got.Actions) >= want
		}, time.Minute, 50*time.Millisecond, "the audit projection has %s's actions", actor)
		return got.Actions
	}
	type row struct{ Stream, Type, Channel string }
	var rows []row
	for _, a := range trail("rsapp-1", 4) {
		rows = append(rows, row{a.Stream, a.Type, a.Channel})
	}
	assert.Equal(t, []row{
		{domain.StreamFor(id), "ConsentGranted", "ecard:rsapp"},
		{domain.StreamFor(id), "ECardIssued", "ecard:rsapp"},
		{domain.StreamFor(id), "CardTemporarilyLost", "ecard:rsapp"},
		{domain.AccessStreamFor(id), "ChannelAccessed", "ecard:rsapp"},
	}, rows)
	alerts := trail("ecard-verifier", 1)
	assert.Equal(t, "ECardRiskAlerted", alerts[0].Type)
	assert.Equal(t, domain.StreamFor(id), alerts[0].Stream)
}

func getRaw(t *testing.T, s *service, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res.StatusCode, raw
}
