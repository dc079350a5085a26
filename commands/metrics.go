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

// Stream cache results, the values of cardledger_stream_cache_total{result}
// (see Pipeline).
const (
	cacheHit     = "hit"     // decided on the cached copy
	cacheMiss    = "miss"    // nothing cached: read the stream
	cacheStale   = "stale"   // the append at the cached revision was refused: read again
	cacheRecheck = "recheck" // answered no append on the cached copy: decided again on a fresh read
)

// Metrics count commands by route template and outcome, and how the
// cardholder pipeline's stream cache served them.
type Metrics struct {
	commands     *prometheus.CounterVec
	streamCaches *prometheus.CounterVec
}

// NewMetrics registers cardledger_commands_total and
// cardledger_stream_cache_total in reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{commands: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardledger_commands_total",
		Help: "Commands run through the API, by command (its route template) and outcome (ok, rejected, conflict, error).",
	}, []string{"command", "outcome"}), streamCaches: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cardledger_stream_cache_total",
		Help: "Cardholder commands by how the stream cache served them: hit (decided without a read), miss, stale (append refused at the cached revision, decided again) or recheck (a refusal or no-op on the cached copy, decided again on a fresh read).",
	}, []string{"result"})}
	for _, c := range []prometheus.Collector{m.commands, m.streamCaches} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// streamCache counts one use of the stream cache; nil Metrics count nothing.
func (m *Metrics) streamCache(result string) {
	if m == nil {
		return
	}
	m.streamCaches.WithLabelValues(result).Inc()
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
