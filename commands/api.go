package commands

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"hash"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/identity"
	"github.com/cardledger/cardledger/internal/httpapi"
	"github.com/cardledger/cardledger/photos"
)

// API is the command HTTP API over a Service.
type API struct {
	svc  *Service
	idem *Idempotency
	log  *logrus.Logger
	// hashKeys key the request hashes in the idempotency table, current
	// first (see WithRequestHashKeys).
	hashKeys [][]byte
	// metrics counts commands by outcome; nil: not counted.
	metrics *Metrics
	// identity checks registrations and counter applications (nil: off);
	// photos stores holders' photos (nil: photo routes answer 503).
	identity identity.Source
	photos   *photos.Store
	// fee is the replacement fee schedule (工本费); amount 0 charges none.
	fee domain.FeeSchedule
}

// WithReplacementFee makes every replacement application (counter, bank,
// channel, instant issue) record the fee of schedule s (docs/fees.md). Call it before serving.
func (a *API) WithReplacementFee(s domain.FeeSchedule) *API {
	a.fee = s
	return a
}

// replacementFee is the fee part of a replacement claiming exemption
// claim: nil while no fee is charged and nothing is claimed.
func (a *API) replacementFee(claim domain.FeeExemption) *domain.ReplacementFee {
	if a.fee.AmountFen == 0 && claim == "" {
		return nil
	}
	return &domain.ReplacementFee{Schedule: a.fee, Claim: claim, On: a.now()}
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
	// Until WithRequestHashKeys, hashes are keyed by a key derived from
	// idKey: never unkeyed.
	m := hmac.New(sha256.New, idKey)
	m.Write([]byte("cardledger/idempotency-request-hash/v1"))
	return &API{svc: svc, idem: NewIdempotency(pool, StaleIdempotencyClaim), log: log, hashKeys: [][]byte{m.Sum(nil)}}, nil
}

// WithRequestHashKeys keys the request hashes the idempotency table keeps
// (HMAC-SHA256) by current; a row hashed under one of old (before a key
// rotation) still matches. A plain hash of a request body would let anyone
// who knows a person's details confirm them from the table (a registration
// holds ID number, name, phone). Call it before serving.
func (a *API) WithRequestHashKeys(current []byte, old ...[]byte) *API {
	a.hashKeys = append([][]byte{current}, old...)
	return a
}

// requestHash returns the hash of a request to store: HMAC-SHA256 under
// the current key.
func (a *API) requestHash(method, path string, body []byte) []byte {
	return hashRequest(hmac.New(sha256.New, a.hashKeys[0]), method, path, body)
}

// earlierHashes returns the hashes an earlier row of the same request may
// hold: under the old keys, and the unkeyed SHA-256 of rows from before
// keyed hashes (kept until they expire). Only a claim reads them, so a
// command its append answers (runFirst) does not compute them.
func (a *API) earlierHashes(method, path string, body []byte) [][]byte {
	also := make([][]byte, 0, len(a.hashKeys))
	for _, k := range a.hashKeys[1:] {
		also = append(also, hashRequest(hmac.New(sha256.New, k), method, path, body))
	}
	return append(also, hashRequest(sha256.New(), method, path, body))
}

func hashRequest(m hash.Hash, method, path string, body []byte) []byte {
	m.Write([]byte(method + " " + path + "\n"))
	m.Write(body)
	return m.Sum(nil)
}

// WithIdempotencyInAppends records the Idempotency-Key of a command that
// appends to one stream with its append, in the append's transaction
// (Idempotency.InAppends). Call it before serving, and only when the
// event store is PostgreSQL in the idempotency table's database.
func (a *API) WithIdempotencyInAppends() *API {
	a.idem.InAppends()
	return a
}

// WithMetrics counts the API's commands, and how its cardholder stream
// cache serves them, in m.
func (a *API) WithMetrics(m *Metrics) *API {
	a.metrics = m
	a.svc.Repository.p.metrics = m
	return a
}

// WithStreamCache sets how many cardholder streams commands may decide on
// without reading them (CARDLEDGER_STREAM_CACHE; Repository.CacheStreams).
func (a *API) WithStreamCache(streams int) *API {
	a.svc.Repository.CacheStreams(streams)
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
