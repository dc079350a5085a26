package httpapi

import (
	"fmt"
	"net/http"
)

// ProblemContentType is the media type of every error response (RFC 9457).
const ProblemContentType = "application/problem+json"

// Problem is an error response. Code is stable and meant for programs;
// Title and Detail are for people.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Code      string       `json:"code"`
	Errors    []FieldError `json:"errors,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
	// Dependency names what is unavailable in a 503 dependency_unavailable
	// ("postgresql", "event_store", "clickhouse"); empty when unknown.
	Dependency string `json:"dependency,omitempty"`
	// RetryAfter is the Retry-After of a 503 or 429, in seconds; 0 means
	// DefaultRetryAfter for a 503 (every 503 carries one), none for a 429.
	RetryAfter int `json:"-"`
}

// FieldError names one bad input field. Field is a JSON path such as
// "sex" or "items[2].card_no"; it is empty for errors of the whole body.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Detail)
	}
	return fmt.Sprintf("%d %s", p.Status, p.Code)
}

// NewProblem builds a problem; Type is derived from code so that it stays
// stable, and Title from the status.
func NewProblem(status int, code, detail string, fields ...FieldError) *Problem {
	return &Problem{
		Type:   "urn:cardledger:problem:" + code,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Code:   code,
		Errors: fields,
	}
}

// Common problems. Codes used by the plumbing itself.
const (
	CodeMalformedJSON    = "malformed_json"
	CodeInvalidUTF8      = "invalid_utf8" // text that is not UTF-8 (or a lone \u surrogate escape)
	CodeUnknownField     = "unknown_field"
	CodeWrongType        = "wrong_type"
	CodeTrailingData     = "trailing_data"
	CodeEmptyBody        = "empty_body"
	CodeBodyTooLarge     = "body_too_large"
	CodeUnsupportedMedia = "unsupported_media_type"
	CodeInvalid          = "invalid_request"
	// CodeInvalidQuery: a query parameter is invalid, in every API (errors[]
	// names the parameter), so that clients branch on one code.
	CodeInvalidQuery     = "invalid_query"
	CodeUnauthenticated  = "unauthenticated"
	CodeForbidden        = "forbidden"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeInternal         = "internal_error"
	CodeUnavailable      = "unavailable"
	// CodeDependencyUnavailable: a database the request needs is down,
	// unreachable or saturated; nothing was decided, retry after
	// Retry-After (with the same Idempotency-Key for commands).
	CodeDependencyUnavailable = "dependency_unavailable"
)

// DefaultRetryAfter is the Retry-After, in seconds, of a 503 that sets none:
// outages seen so far ended, and commands flowed, well within it.
const DefaultRetryAfter = 1

// DependencyUnavailable is the problem of a dependency outage (see package
// internal/unavailable); dependency may be empty.
func DependencyUnavailable(dependency string) *Problem {
	what := "a dependency"
	if dependency != "" {
		what = dependency
	}
	p := NewProblem(http.StatusServiceUnavailable, CodeDependencyUnavailable,
		what+" is unavailable; retry after Retry-After (a command with the same Idempotency-Key, which makes the retry safe)")
	p.Dependency = dependency
	return p
}

func BadRequest(code, detail string, fields ...FieldError) *Problem {
	return NewProblem(http.StatusBadRequest, code, detail, fields...)
}

func NotFound(code, detail string) *Problem {
	return NewProblem(http.StatusNotFound, code, detail)
}

func Conflict(code, detail string, fields ...FieldError) *Problem {
	return NewProblem(http.StatusConflict, code, detail, fields...)
}

func Unprocessable(code, detail string, fields ...FieldError) *Problem {
	return NewProblem(http.StatusUnprocessableEntity, code, detail, fields...)
}

func PreconditionFailed(code, detail string) *Problem {
	return NewProblem(http.StatusPreconditionFailed, code, detail)
}
