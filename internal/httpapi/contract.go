package httpapi

import (
	"fmt"
	"net/http"
)

// Response is one answer a route gives: its status and a value of the Go
// type the handler encodes for it. The OpenAPI schema comes from the type
// (schema.go), the example from the value; so the value must be a real,
// filled-in answer, never a zero placeholder.
type Response struct {
	Status int
	// Body is a value of the type sent; nil means no body, or a problem
	// (application/problem+json, type Problem) when Status >= 400.
	Body any
	// ContentType is the media type; "" means application/json (problem+json
	// for a problem). A non-JSON body (text/csv, text/html) gives a string
	// as Body: its example.
	ContentType string
	Description string
	// Headers are the response headers worth documenting (Location, ETag).
	Headers []Param
}

// Param is a query or header parameter a route reads.
type Param struct {
	Name        string
	In          string // "query" or "header"
	Description string
	Required    bool
	// Example is a value of the parameter's Go type (string, int, bool);
	// the schema's type follows it.
	Example any
	// Enum lists the accepted values, when they are few.
	Enum []string
}

// Query declares a query parameter; example gives its type and example.
func Query(name, description string, example any) Param {
	return Param{Name: name, In: "query", Description: description, Example: example}
}

// Header declares a request (or response) header.
func Header(name, description string, example any) Param {
	return Param{Name: name, In: "header", Description: description, Example: example}
}

// OneOf restricts the parameter to values.
func (p Param) OneOf(values ...string) Param { p.Enum = values; return p }

// Parameters and response headers shared by the modules.
var (
	// MinPosition is read-your-writes: a read waits (a few seconds, then
	// 503 projection_behind) until its read model has applied the command
	// that returned this position.
	MinPosition = Query("min_position", "Read-your-writes: the position a command returned; the read waits until "+
		"the read model has applied it (503 projection_behind with Retry-After if it does not within a few seconds)", "2ded3-1")
	// IdempotencyKey makes a retried command run once.
	IdempotencyKey = Header("Idempotency-Key", "1 to 128 printable ASCII characters, new for every command; a retry "+
		"with the same key and body gets the first answer (Idempotent-Replayed: true) instead of running again", "3f6c2a9e-loss-A12345678")
	// IfMatch makes a command conditional on the stream's revision.
	IfMatch = Header("If-Match", "The revision the command expects (an ETag of an earlier answer, e.g. \"7\"); "+
		"412 if the stream has moved on", `"7"`)
	// Operator names the person at the client's counter.
	Operator = Header("X-Operator", "The operator at the calling system (at most 64 printable characters); "+
		"recorded in every event's metadata", "窗口01")
	// LocationHeader is the URL of the job a 201/202 started.
	LocationHeader = Header("Location", "The URL of the resource or job", "/v1/batches/B20250301-01/jobs/1")
	// ETagHeader is the stream revision after a command.
	ETagHeader = Header("ETag", "The stream's revision after the command; send it as If-Match", `"7"`)
)

// Required returns p marked required.
func Required(p Param) Param { p.Required = true; return p }

// Problems are problem+json answers with the given statuses, besides the
// ones every route gets (see commonProblems).
func Problems(statuses ...int) []Response {
	out := make([]Response, len(statuses))
	for i, s := range statuses {
		out[i] = Response{Status: s}
	}
	return out
}

// responsesOf lists every answer of r: Status/Response (the success
// shorthand), Responses, then the problems every route of its kind gets.
func responsesOf(r Route) []Response {
	var out []Response
	if r.Response != nil {
		status := r.Status
		if status == 0 {
			status = http.StatusOK
		}
		out = append(out, Response{Status: status, Body: r.Response})
	}
	out = append(out, r.Responses...)
	return append(out, commonProblems(r)...)
}

// commonProblems are the answers the plumbing itself may give on r.
func commonProblems(r Route) []Response {
	out := []Response{
		{Status: http.StatusInternalServerError, Description: "A bug; quote the request_id when reporting it"},
		{Status: http.StatusServiceUnavailable, Description: "A database it needs is down, unreachable or saturated " +
			"(code dependency_unavailable, field dependency), or a read model is behind; see Retry-After",
			Headers: []Param{retryAfter}},
	}
	// Any path or query parameter that is not UTF-8 is refused.
	out = append(out, Response{Status: http.StatusBadRequest, Description: "Bad input: malformed or invalid body, " +
		"path or query parameter; errors[] names each field"})
	if r.Request != nil {
		out = append(out,
			Response{Status: http.StatusRequestEntityTooLarge, Description: "The body is over the route's limit"},
			Response{Status: http.StatusUnsupportedMediaType, Description: "The body is not of the declared media type"})
	}
	if len(r.AppTypes) > 0 {
		out = append(out,
			Response{Status: http.StatusForbidden, Description: "The client's role may not call this endpoint, the " +
				"target is outside its scope, or an app's type may not call it (code app_scope)"},
			Response{Status: http.StatusTooManyRequests, Description: "Rate limit of the client exceeded, or an app's " +
				"quota per minute or per day is spent (code app_quota_exceeded); see Retry-After",
				Headers: []Param{retryAfter}},
			Response{Status: http.StatusUnauthorized, Description: "Missing, unknown or revoked credentials"})
	} else if len(r.Roles) > 0 {
		out = append(out,
			Response{Status: http.StatusUnauthorized, Description: "Missing, unknown or revoked credentials"},
			Response{Status: http.StatusForbidden, Description: "The client's role may not call this endpoint, or the " +
				"target is outside its region/bank scope (code forbidden, scope_region, scope_bank)"},
			Response{Status: http.StatusTooManyRequests, Description: "Rate limit of the client exceeded; see Retry-After",
				Headers: []Param{retryAfter}})
	}
	return out
}

var retryAfter = Header("Retry-After", "Seconds to wait before retrying", 1)

// checkDeclared panics unless r declares a success answer: a route without
// one would make the document lie about it.
func checkDeclared(r Route) {
	for _, resp := range responsesOf(r) {
		if resp.Status >= 200 && resp.Status < 300 {
			return
		}
	}
	panic(fmt.Sprintf("httpapi: route %s %s declares no success response: set Route.Response (the value its "+
		"handler encodes) or list its answers in Route.Responses", r.Method, r.Path))
}
