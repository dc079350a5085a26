package commands

import (
	"errors"
	"net/http"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Problem codes of the application layer (domain codes pass through as they are).
const (
	CodeRevisionMismatch       = "revision_mismatch"
	CodeConcurrentModification = "concurrent_modification"
	CodeIdempotencyKeyReused   = "idempotency_key_reused"
	CodeIdempotencyKeyInFlight = "idempotency_key_in_flight"
	CodeInvalidIdempotencyKey  = "invalid_idempotency_key"
	CodeInvalidIfMatch         = "invalid_if_match"
	CodeInvalidOperator        = "invalid_operator"
	CodeInvalidAsOf            = "invalid_as_of"
)

// ProblemFor maps the errors of this package and of the domain to HTTP
// problems; nil means an unexpected error (500). It fits
// httpapi.Options.MapError.
func ProblemFor(err error) *httpapi.Problem {
	var p *httpapi.Problem
	if errors.As(err, &p) {
		return p
	}
	if de, ok := domain.AsError(err); ok {
		fields := make([]httpapi.FieldError, len(de.Fields))
		for i, f := range de.Fields {
			fields[i] = httpapi.FieldError{Field: f.Field, Code: f.Code, Message: f.Message}
		}
		switch de.Kind {
		case domain.KindInvalid:
			return httpapi.BadRequest(de.Code, de.Message, fields...)
		case domain.KindNotFound:
			return httpapi.NotFound(de.Code, de.Message)
		default:
			return httpapi.Conflict(de.Code, de.Message, fields...)
		}
	}
	if p := provinceProblem(err); p != nil {
		return p
	}
	switch {
	case errors.Is(err, ErrRevisionMismatch):
		return httpapi.PreconditionFailed(CodeRevisionMismatch, "the cardholder changed since the revision in If-Match; read it again")
	case errors.Is(err, ErrContention):
		return httpapi.Conflict(CodeConcurrentModification, "the cardholder is being changed concurrently; retry")
	case errors.Is(err, ErrKeyReused):
		return httpapi.Unprocessable(CodeIdempotencyKeyReused, "this Idempotency-Key was used for a different request")
	case errors.Is(err, ErrKeyInFlight):
		return httpapi.NewProblem(http.StatusConflict, CodeIdempotencyKeyInFlight, "a request with this Idempotency-Key is still running; retry later")
	}
	return nil
}
