// Package unavailable tells a dependency outage from a bug.
//
// A request that fails because PostgreSQL, the event store or ClickHouse is
// down, unreachable, restarting, refusing connections or saturated decided
// nothing: the caller should retry later (503 with Retry-After). Every other
// unexpected error is a bug (500). The HTTP plumbing asks Classify once for
// every error no module mapped (internal/httpapi), so no handler has to.
//
// Adapters that know their dependency but whose errors carry no recognisable
// type wrap them: the event store's adapters with eventstore.ErrUnavailable,
// others with Wrap or Default.
package unavailable

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cardledger/cardledger/eventstore"
)

// Names of the dependencies, as the problem body's "dependency" field says them.
const (
	PostgreSQL = "postgresql"
	EventStore = "event_store"
	ClickHouse = "clickhouse"
)

// Error is a dependency outage. Dependency is empty when the failure named
// no dependency (e.g. a bare network error or an acquire deadline).
type Error struct {
	Dependency string
	Err        error
}

func (e *Error) Error() string {
	if e.Dependency == "" {
		return "dependency unavailable: " + e.Err.Error()
	}
	return e.Dependency + " unavailable: " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Wrap marks err as an outage of dependency; nil stays nil.
func Wrap(dependency string, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Dependency: dependency, Err: err}
}

// Default names dependency on err if err is an outage that names none yet;
// any other error is returned as it is. Modules use it at their edge
// (analytics for ClickHouse) when the driver's errors are plain network
// errors.
func Default(dependency string, err error) error {
	if e, ok := Classify(err); ok && e.Dependency == "" {
		return &Error{Dependency: dependency, Err: err}
	}
	return err
}

// Classify reports whether err is a dependency outage and, if so, which
// dependency (as far as the error tells).
func Classify(err error) (*Error, bool) {
	if err == nil {
		return nil, false
	}
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	if errors.Is(err, eventstore.ErrUnavailable) {
		return &Error{Dependency: EventStore, Err: err}, true
	}
	if postgresDown(err) {
		return &Error{Dependency: PostgreSQL, Err: err}, true
	}
	if clickHouseDown(err) {
		return &Error{Dependency: ClickHouse, Err: err}, true
	}
	if networkDown(err) {
		return &Error{Err: err}, true
	}
	// A deadline that reaches the error mapper is not the client's (that
	// is Canceled): a pool acquire or a dependency call ran out of time.
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Err: err}, true
	}
	return nil, false
}

// postgresDown: the server could not be reached, refused the connection,
// is starting or shutting down, is out of connection slots, or the
// connection broke before anything was sent (pgconn.SafeToRetry).
func postgresDown(err error) bool {
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case len(pe.Code) >= 2 && pe.Code[:2] == "08": // connection exception
			return true
		case pe.Code == "53300", // too_many_connections
			pe.Code == "57P01", // admin_shutdown
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03": // cannot_connect_now (starting up, recovering)
			return true
		}
		return false
	}
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

func clickHouseDown(err error) bool {
	return errors.Is(err, clickhouse.ErrAcquireConnTimeout)
}

// networkDown: a connection that could not be made or broke mid-request.
func networkDown(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed)
}
