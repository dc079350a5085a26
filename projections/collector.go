package projections

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"
)

// collectTimeout bounds one scrape's reads; Reports bounds each read too.
const collectTimeout = 2 * statusTimeout

// Collector exposes the projection series (the names /metrics has always
// had) to a Prometheus registry: read at scrape time, so the gauges are
// never stale. A projection whose status cannot be read shows as
// cardledger_projection_status_ok 0 without lag gauges; a store whose head
// cannot be read gives no projection series at all (the scrape reports the
// error). Several runners (serve's read models and its outbound runner)
// share the series, each projection under its own name.
func Collector(rs ...*Runner) prometheus.Collector { return &collector{rs: rs} }

type collector struct {
	rs  []*Runner
	ctx context.Context // nil: a fresh one per scrape
}

var (
	descStatusOK = prometheus.NewDesc("cardledger_projection_status_ok",
		"1 if the projection's status could be read (0: its storage is unavailable).", []string{"projection"}, nil)
	descLagEvents = prometheus.NewDesc("cardledger_projection_lag_events",
		"Events in the store not yet applied by the projection.", []string{"projection"}, nil)
	descLagSeconds = prometheus.NewDesc("cardledger_projection_lag_seconds",
		"Age of the oldest event not yet applied by the projection.", []string{"projection"}, nil)
	descActive = prometheus.NewDesc("cardledger_projection_active",
		"1 if this process runs the projection (holds its lock).", []string{"projection"}, nil)
	descApplied = prometheus.NewDesc("cardledger_projection_events_applied_total",
		"Events applied by this process.", []string{"projection"}, nil)
	descBatches = prometheus.NewDesc("cardledger_projection_batches_applied_total",
		"Batches applied by this process (one Apply, one transaction in PostgreSQL, each).", []string{"projection"}, nil)
)

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descStatusOK, descLagEvents, descLagSeconds, descActive, descApplied, descBatches} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	parent := c.ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithTimeout(parent, collectTimeout)
	defer cancel()
	var reports []Report
	for _, r := range c.rs {
		rep, err := r.Reports(ctx)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(descStatusOK, err)
			return
		}
		reports = append(reports, rep...)
	}
	for _, rep := range reports {
		ch <- prometheus.MustNewConstMetric(descStatusOK, prometheus.GaugeValue, b2f(rep.Error == ""), rep.Name)
		if rep.Error != "" {
			continue
		}
		s := rep.Status
		ch <- prometheus.MustNewConstMetric(descLagEvents, prometheus.GaugeValue, float64(s.LagEvents), s.Name)
		ch <- prometheus.MustNewConstMetric(descLagSeconds, prometheus.GaugeValue, s.LagSeconds, s.Name)
		ch <- prometheus.MustNewConstMetric(descActive, prometheus.GaugeValue, b2f(s.Active), s.Name)
		ch <- prometheus.MustNewConstMetric(descApplied, prometheus.CounterValue, float64(s.Applied), s.Name)
		ch <- prometheus.MustNewConstMetric(descBatches, prometheus.CounterValue, float64(s.Batches), s.Name)
	}
}
