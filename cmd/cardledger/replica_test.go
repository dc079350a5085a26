package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/internal/testpg"
	"github.com/cardledger/cardledger/readapi"
)

// serve with CARDLEDGER_POSTGRES_READ_URL reads through the replica: a
// command's position read back with min_position is answered from it,
// /metrics has its lag, /readyz names it.
func TestServeReadsThroughTheReplica(t *testing.T) {
	if testpg.ReadServerURL() == "" {
		t.Skip("no read replica: set CARDLEDGER_TEST_POSTGRES_READ_URL (`make test` makes one with scripts/services.sh pg-replica)")
	}
	db := testpg.NewDatabase(t)
	s := startService(t, map[string]string{
		"CARDLEDGER_POSTGRES_URL":      db,
		"CARDLEDGER_POSTGRES_READ_URL": testpg.ReplicaDatabase(t, db),
		"CARDLEDGER_LOG_LEVEL":         "warn",
	})
	status, reg := s.do(t, "POST", "/v1/cardholders", map[string]string{
		"id_number": "11010519491231002X", "name": "张三", "sex": "female", "nationality": "CHN",
		"region_code": "320508", "phone": "13800000000", "employer_code": "E001", "community_code": "C001",
	})
	require.Equal(t, http.StatusCreated, status, "%v", reg)
	status, got := s.do(t, "GET", "/v1/cardholders/"+reg["cardholder_id"].(string)+"?min_position="+reg["position"].(string), nil)
	require.Equal(t, http.StatusOK, status, "%v", got)
	require.Equal(t, "张三", got["name"])

	m := scrape(t, s.url)
	require.Contains(t, m, "cardledger_postgres_replica_lag_seconds")
	require.Contains(t, m, "cardledger_postgres_replica_lag_bytes")
	require.Equal(t, 1.0, m["cardledger_postgres_replica_up"].Metric[0].GetGauge().GetValue())

	status, ready := s.do(t, "GET", "/readyz", nil)
	require.Equal(t, http.StatusOK, status, "%v", ready)
	require.Contains(t, ready["dependencies"], map[string]any{"name": readapi.DependencyReplica, "ok": true})
}
