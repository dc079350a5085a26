package commands

import (
	"errors"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// API is the command HTTP API over a Service.
type API struct {
	svc  *Service
	idem *Idempotency
	log  *logrus.Logger
}

// StaleIdempotencyClaim is how long a claimed Idempotency-Key without a
// response blocks retries before a retry may take it over.
const StaleIdempotencyClaim = time.Minute

// NewAPI wires the command API: store holds the events, db (a pgx pool)
// the idempotency table (run Migrate first), idKey derives cardholder ids.
func NewAPI(store eventstore.Store, db DB, idKey []byte, clock func() time.Time, log *logrus.Logger) (*API, error) {
	if db == nil {
		return nil, errors.New("commands: API needs a database for idempotency keys")
	}
	if log == nil {
		return nil, errors.New("commands: API needs a logger")
	}
	svc, err := NewService(store, idKey, clock)
	if err != nil {
		return nil, err
	}
	return &API{svc: svc, idem: NewIdempotency(db, StaleIdempotencyClaim), log: log}, nil
}

// Service is the application layer under the API.
func (a *API) Service() *Service { return a.svc }

// Routes is the route table of the command API (see routes.go).
func (a *API) Routes() []httpapi.Route { return a.routes() }
