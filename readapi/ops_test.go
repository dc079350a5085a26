package readapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/devtools/seed"
	"github.com/cardledger/cardledger/readapi"
)

func TestMetricsAndReadinessShowProjectionLag(t *testing.T) {
	h := newHarness(t)
	h.seed(3, seed.HistoryOptions{})
	h.run()
	h.caughtUp()

	status, ctype, body := h.get("", "/metrics")
	require.Equal(t, http.StatusOK, status)
	require.True(t, strings.HasPrefix(ctype, "text/plain; version=0.0.4"))
	require.Contains(t, string(body), "# TYPE cardledger_projection_lag_events gauge\n")
	require.Contains(t, string(body), `cardledger_projection_lag_events{projection="readmodel"} 0`+"\n")
	require.Contains(t, string(body), `cardledger_projection_active{projection="readmodel"} 1`+"\n")

	var ready readapi.Readiness
	h.getJSON("", "/readyz", http.StatusOK, &ready)
	require.True(t, ready.Ready)
	require.Equal(t, uint64(0), ready.Projections[0].LagEvents)

	// Stopped projection, two new events: the lag shows them.
	h.stop()
	stream, _ := seed.Lifecycle(seed.HistoryKey, 0, false)
	h.appendEvents(stream, domain.CardReportedLost{CardNo: "B00000000"}, domain.CardUnlocked{CardNo: "B00000000", Lifted: domain.StatusLost})
	deadline := time.Now().Add(20 * time.Second)
	for {
		h.getJSON("", "/readyz", http.StatusOK, &ready)
		if ready.Projections[0].LagEvents == 2 {
			break
		}
		require.True(t, time.Now().Before(deadline), "lag never showed the two events: %+v", ready)
		time.Sleep(20 * time.Millisecond)
	}
	require.Greater(t, ready.Projections[0].LagSeconds, 0.0)
	require.False(t, ready.Projections[0].Active)
	_, _, body = h.get("", "/metrics")
	require.Contains(t, string(body), `cardledger_projection_lag_events{projection="readmodel"} 2`+"\n")
}
