package notifications

import "github.com/prometheus/client_golang/prometheus"

// Send outcomes, the values of cardledger_notifications_total{outcome}.
const (
	OutcomeSent         = "sent"          // the gateway or mail server accepted the message
	OutcomeFailed       = "failed"        // a failed send; the message is tried again
	OutcomeDeadLettered = "dead_lettered" // the last failed send: the message went to the dead letters
)

// Metrics count this process's sends; a nil *Metrics counts nothing.
type Metrics struct{ sends *prometheus.CounterVec }

// NewMetrics registers cardledger_notifications_total in reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{sends: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardledger_notifications_total",
		Help: "Notification sends by medium (sms, email), kind and outcome (sent, failed: tried again, dead_lettered).",
	}, []string{"medium", "kind", "outcome"})}
	if err := reg.Register(m.sends); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Metrics) count(msg Message, outcome string) {
	if m != nil {
		m.sends.WithLabelValues(string(msg.Medium), msg.Kind, outcome).Inc()
	}
}
