package commands

import (
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// API is the command HTTP API over a Service.
type API struct {
	svc  *Service
	idem *Idempotency
	log  *logrus.Logger
	// metrics counts commands by outcome; nil: not counted.
	metrics *Metrics
}

// StaleIdempotencyClaim is how long a claimed Idempotency-Key without a
// response blocks retries while the process that claimed it lives (a dead
// process's claims are taken over at once; see Idempotency).
const StaleIdempotencyClaim = time.Minute

// NewAPI wires the command API: store holds the events, pool the
// idempotency table (run Migrate first), idKey derives cardholder ids.
// Close it when done.
func NewAPI(store eventstore.Store, pool *pgxpool.Pool, idKey []byte, clock func() time.Time, log *logrus.Logger) (*API, error) {
	if pool == nil {
		return nil, errors.New("commands: API needs a database for idempotency keys")
	}
	if log == nil {
		return nil, errors.New("commands: API needs a logger")
	}
	svc, err := NewService(store, idKey, clock)
	if err != nil {
		return nil, err
	}
	return &API{svc: svc, idem: NewIdempotency(pool, StaleIdempotencyClaim), log: log}, nil
}

// WithMetrics counts the API's commands in m.
func (a *API) WithMetrics(m *Metrics) *API {
	a.metrics = m
	return a
}

// Close releases the connection that holds this process's idempotency
// claims (see Idempotency); claims still open are then taken over by
// retries at once.
func (a *API) Close() { a.idem.Close() }

// Service is the application layer under the API.
func (a *API) Service() *Service { return a.svc }

// Routes is the route table of the command API (see routes.go).
func (a *API) Routes() []httpapi.Route { return a.routes() }
