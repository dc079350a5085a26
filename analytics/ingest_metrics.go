package analytics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// IngestMetrics count the usage records ingested, by result: recorded
// (written), duplicate (already stored, written nothing) or rejected.
type IngestMetrics struct {
	records *prometheus.CounterVec
}

// NewIngestMetrics registers cardledger_usage_records_total in reg.
func NewIngestMetrics(reg prometheus.Registerer) (*IngestMetrics, error) {
	m := &IngestMetrics{records: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardledger_usage_records_total",
		Help: "Usage records ingested, by result (recorded, duplicate, rejected).",
	}, []string{"result"})}
	if err := reg.Register(m.records); err != nil {
		return nil, err
	}
	return m, nil
}

// observe counts one Ingest call's result, also a partial one; nil
// IngestMetrics count nothing.
func (m *IngestMetrics) observe(res IngestResult) {
	if m == nil {
		return
	}
	m.records.WithLabelValues("recorded").Add(float64(res.Recorded))
	m.records.WithLabelValues("duplicate").Add(float64(res.Duplicates))
	m.records.WithLabelValues("rejected").Add(float64(len(res.Rejected)))
}
