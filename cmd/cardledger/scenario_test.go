package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/eventstore/esdbstore/esdbdouble"
	"github.com/cardledger/cardledger/internal/auth"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/internal/testpg"
)

// The write-side scenario must work end to end over HTTP with the service
// configured exactly as a user configures it, on each event store.
func TestWriteSideScenarioOnEveryEventStore(t *testing.T) {
	stores := map[string]func(t *testing.T) string{
		"postgres": func(t *testing.T) string { return "" }, // default: the read-model database
		"eventstoredb-double": func(t *testing.T) string {
			srv, err := esdbdouble.Start()
			require.NoError(t, err)
			t.Cleanup(srv.Stop)
			return srv.URL()
		},
	}
	for name, eventStoreURL := range stores {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{
				"CARDLEDGER_POSTGRES_URL":   testpg.NewDatabase(t),
				"CARDLEDGER_EVENTSTORE_URL": eventStoreURL(t),
				"CARDLEDGER_LOG_LEVEL":      "warn",
			}
			api := startService(t, env)
			api.scenario(t)
		})
	}
}

type service struct {
	url string
	key string
}

func startService(t *testing.T, vars map[string]string) *service {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	env := &environment{stdout: io.Discard, stderr: io.Discard, getenv: func(k string) string { return vars[k] }}
	b := boot(t, ctx, env)
	key, err := auth.Add(ctx, b.d.pool, auth.Client{Name: "scenario", Role: httpapi.RoleAdmin})
	require.NoError(t, err)
	return &service{url: b.srv.URL, key: key}
}

func (s *service) do(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.url+path, r)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &out), "body %s", raw)
	}
	return res.StatusCode, out
}

func (s *service) scenario(t *testing.T) {
	status, reg := s.do(t, "POST", "/v1/cardholders", map[string]string{
		"id_number": "11010519491231002X", "name": "张三", "sex": "female", "nationality": "CHN",
		"region_code": "320508", "phone": "13800000000", "employer_code": "E001", "community_code": "C001",
	})
	require.Equal(t, http.StatusCreated, status, "%v", reg)
	id := reg["cardholder_id"].(string)

	status, issued := s.do(t, "POST", "/v1/cardholders/"+id+"/instant-issuance", map[string]string{"bank_code": "ICBC",
		"account_no": "6212260200012345678", "chip_id": "0123456789ABCDEF0123456789ABCDEF"})
	require.Equal(t, http.StatusOK, status, "%v", issued)
	card := issued["card_no"].(string)

	steps := []struct{ path, wantStatus string }{
		{"loss", "lost"}, {"unlock", "active"}, {"cancellation", "cancelled"}, {"restoration", "active"},
	}
	var position string
	for _, step := range steps {
		status, res := s.do(t, "POST", "/v1/cards/"+card+"/"+step.path, map[string]string{"reason": "scenario"})
		require.Equal(t, http.StatusOK, status, "%s: %v", step.path, res)
		require.Equal(t, step.wantStatus, res["card_status"], step.path)
		position = res["position"].(string)
	}

	status, hist := s.do(t, "GET", "/v1/cards/"+card+"/history", nil)
	require.Equal(t, http.StatusOK, status)
	var types []string
	for _, e := range hist["events"].([]any) {
		types = append(types, e.(map[string]any)["type"].(string))
	}
	require.Equal(t, []string{
		"CardApplied", "BankAccountOpened", "CardNumberAssigned", "CardProduced", "CardIssued", "CardActivated",
		"CardReportedLost", "CardUnlocked", "CardCancelled", "CardCancellationRestored",
	}, types)

	// The read side sees the last command at once when asked to wait for its position.
	status, read := s.do(t, "GET", "/v1/cards/"+card+"?min_position="+position, nil)
	require.Equal(t, http.StatusOK, status, "%v", read)
	require.Equal(t, "active", read["status"])
	status, listed := s.do(t, "GET", "/v1/blacklist/"+card+"?min_position="+position, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, false, listed["listed"])

	// Bad input is refused with a problem and appends nothing.
	status, problem := s.do(t, "POST", "/v1/cardholders", map[string]string{"id_number": "110105194912310021"})
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "invalid_command", problem["code"], "%v", problem)
	require.Contains(t, problem["errors"], map[string]any{
		"field": "id_number", "code": "invalid_id_number", "message": "id number check digit is wrong: want X"})
	status, hist = s.do(t, "GET", "/v1/cardholders/"+id+"/history", nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, hist["events"].([]any), 11)
}
