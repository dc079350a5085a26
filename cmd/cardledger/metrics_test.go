package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/cardledger/cardledger/deliveries"
	"github.com/cardledger/cardledger/internal/testpg"
)

// /metrics, scraped over HTTP from the service as serve wires it, counts
// exactly the requests, commands and appends made: by route template (not
// URL), status code and outcome.
func TestMetricsCountRequestsCommandsAndAppends(t *testing.T) {
	s := startService(t, map[string]string{
		"CARDLEDGER_POSTGRES_URL": testpg.NewDatabase(t),
		"CARDLEDGER_LOG_LEVEL":    "warn",
	})
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
	status, _ = s.do(t, "POST", "/v1/cards/"+card+"/loss", map[string]string{"reason": "bus"})
	require.Equal(t, http.StatusOK, status)
	// Lost already: the domain refuses it (409), a rejected command.
	status, _ = s.do(t, "POST", "/v1/cards/"+card+"/loss", map[string]string{"reason": "again"})
	require.Equal(t, http.StatusConflict, status)
	status, _ = s.do(t, "GET", "/no/such/path/"+card, nil)
	require.Equal(t, http.StatusNotFound, status)

	m := scrape(t, s.url)
	const loss = "/v1/cards/{card_no}/loss"
	require.Equal(t, 1.0, m.value(t, "http_requests_total", "route", "/v1/cardholders", "method", "POST", "code", "201"))
	require.Equal(t, 1.0, m.value(t, "http_requests_total", "route", loss, "method", "POST", "code", "200"))
	require.Equal(t, 1.0, m.value(t, "http_requests_total", "route", loss, "method", "POST", "code", "409"))
	require.Equal(t, 1.0, m.value(t, "http_requests_total", "route", "unmatched", "method", "GET", "code", "404"))
	require.Equal(t, uint64(2), m.histogramCount(t, "http_request_duration_seconds", "route", loss, "method", "POST"))
	for _, f := range m {
		for _, mm := range f.Metric {
			for _, l := range mm.Label {
				require.NotContains(t, l.GetValue(), card, "a label holds the card number: %s", f.GetName())
			}
		}
	}

	require.Equal(t, 1.0, m.value(t, "cardledger_commands_total", "command", "/v1/cardholders", "outcome", "ok"))
	require.Equal(t, 1.0, m.value(t, "cardledger_commands_total", "command", "/v1/cardholders/{id}/instant-issuance", "outcome", "ok"))
	require.Equal(t, 1.0, m.value(t, "cardledger_commands_total", "command", loss, "outcome", "ok"))
	require.Equal(t, 1.0, m.value(t, "cardledger_commands_total", "command", loss, "outcome", "rejected"))
	// The appends made: register, the instant issuance's two (the card
	// number reservation, then the cardholder), the loss; the refused loss
	// appends nothing.
	require.Equal(t, uint64(4), m.histogramCount(t, "cardledger_append_duration_seconds", "op", "append", "result", "ok"))

	// The projection series keep their names; the Go runtime is there.
	require.Contains(t, m, "cardledger_projection_lag_events")
	// The outbound runner's projection is among them (its lag is the
	// deliveries' backlog).
	m.find(t, "cardledger_projection_lag_events", "projection", deliveries.ProjectionName)
	require.Contains(t, m, "go_goroutines")
	require.Contains(t, m, "process_resident_memory_bytes")
}

type families map[string]*dto.MetricFamily

func scrape(t *testing.T, url string) families {
	t.Helper()
	res, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	p := expfmt.NewTextParser(model.UTF8Validation)
	m, err := p.TextToMetricFamilies(res.Body)
	require.NoError(t, err)
	return m
}

// gathered is what reg would serve on /metrics.
func gathered(t *testing.T, reg prometheus.Gatherer) families {
	t.Helper()
	fams, err := reg.Gather()
	require.NoError(t, err)
	out := families{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// find is the series of name with exactly the labels given (name, value pairs).
func (f families) find(t *testing.T, name string, labels ...string) *dto.Metric {
	t.Helper()
	fam, ok := f[name]
	require.True(t, ok, "no %s", name)
	want := map[string]string{}
	for i := 0; i < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	var seen []string
	for _, m := range fam.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) == len(want) && equalMaps(got, want) {
			return m
		}
		seen = append(seen, m.String())
	}
	require.Failf(t, "no series", "%s %v among\n%s", name, want, strings.Join(seen, "\n"))
	return nil
}

func (f families) value(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	m := f.find(t, name, labels...)
	if m.Counter != nil {
		return m.Counter.GetValue()
	}
	return m.Gauge.GetValue()
}

func (f families) histogramCount(t *testing.T, name string, labels ...string) uint64 {
	t.Helper()
	return f.find(t, name, labels...).Histogram.GetSampleCount()
}

func equalMaps(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
