package deliveries

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Delivery outcomes, the values of cardledger_deliveries_total{outcome}.
const (
	OutcomeDelivered    = "delivered"     // the receiver answered 2xx
	OutcomeFailed       = "failed"        // a failed call; the event is tried again
	OutcomeDeadLettered = "dead_lettered" // the last failed call: the event went to the dead letters
)

// Metrics count this process's deliveries per subscription and show how
// long the event a subscription is on has waited (README, Metrics). A nil
// *Metrics counts nothing.
type Metrics struct {
	calls *prometheus.CounterVec

	mu      sync.Mutex
	waiting map[string]time.Time // subscription -> recorded_at of the event being delivered
	now     func() time.Time
}

var descLag = prometheus.NewDesc("cardledger_delivery_lag_seconds",
	"Per subscription: age of the event being delivered (sent and not yet acknowledged or dead-lettered); 0 when none is.",
	[]string{"subscription"}, nil)

// NewMetrics registers the delivery series in reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cardledger_deliveries_total",
			Help: "Delivery calls by subscription and outcome (delivered, failed: tried again, dead_lettered).",
		}, []string{"subscription", "outcome"}),
		waiting: map[string]time.Time{},
		now:     time.Now,
	}
	if err := reg.Register(m.calls); err != nil {
		return nil, err
	}
	if err := reg.Register(lagCollector{m}); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Metrics) count(sub, outcome string) {
	if m != nil {
		m.calls.WithLabelValues(sub, outcome).Inc()
	}
}

// known makes the subscription's series appear at 0 before its first call.
func (m *Metrics) known(sub string) {
	if m == nil {
		return
	}
	for _, o := range []string{OutcomeDelivered, OutcomeFailed, OutcomeDeadLettered} {
		m.calls.WithLabelValues(sub, o)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.waiting[sub]; !ok {
		m.waiting[sub] = time.Time{}
	}
}

// onEvent records that sub is delivering an event recorded at; a zero at
// means it is delivering none.
func (m *Metrics) onEvent(sub string, at time.Time) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.waiting[sub] = at
}

type lagCollector struct{ m *Metrics }

func (c lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descLag }

func (c lagCollector) Collect(ch chan<- prometheus.Metric) {
	c.m.mu.Lock()
	defer c.m.mu.Unlock()
	now := c.m.now()
	for sub, at := range c.m.waiting {
		lag := 0.0
		if !at.IsZero() {
			lag = max(now.Sub(at).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, lag, sub)
	}
}
