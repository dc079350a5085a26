package commands

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Command outcomes, the values of cardledger_commands_total{outcome}.
const (
	OutcomeOK       = "ok"       // events appended (or already there: a retry)
	OutcomeRejected = "rejected" // refused: a domain rule or a malformed request (4xx)
	OutcomeConflict = "conflict" // lost a race: If-Match revision, concurrent change, or its Idempotency-Key recorded first by another request
	OutcomeError    = "error"    // failed: storage, bug (5xx)
)

// Metrics count commands by route template and outcome.
type Metrics struct {
	commands *prometheus.CounterVec
}

// NewMetrics registers cardledger_commands_total in reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{commands: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardledger_commands_total",
		Help: "Commands run through the API, by command (its route template) and outcome (ok, rejected, conflict, error).",
	}, []string{"command", "outcome"})}
	if err := reg.Register(m.commands); err != nil {
		return nil, err
	}
	return m, nil
}

// observe counts one run of command; nil Metrics count nothing.
func (m *Metrics) observe(command string, err error) {
	if m == nil {
		return
	}
	m.commands.WithLabelValues(command, OutcomeOf(err)).Inc()
}

// OutcomeOf classifies a command's error for the outcome label.
func OutcomeOf(err error) string {
	if err == nil {
		return OutcomeOK
	}
	if errors.Is(err, ErrRevisionMismatch) || errors.Is(err, ErrContention) || errors.Is(err, eventstore.ErrRowConflict) {
		return OutcomeConflict
	}
	if _, ok := domain.AsError(err); ok {
		return OutcomeRejected
	}
	if p := ProblemFor(err); p != nil && p.Status < 500 {
		return OutcomeRejected
	}
	return OutcomeError
}
