// Package httpapi is the HTTP plumbing every cardledger API module shares:
// the route table type, authentication, roles and scopes, rate limits,
// problem+json errors, strict JSON decoding, request/correlation ids, access
// logs and the OpenAPI document generated from the route table.
//
// Invariants:
//   - Every route is declared once, in a []Route table; NewServer registers
//     the table and generates GET /openapi.json (OpenAPI 3.1) from the same
//     table: paths, parameters (Route.Params), bodies and every answer per
//     status with a JSON Schema generated from the Go type of the value the
//     row gives (schema.go: required unless omitempty, nullable pointers as
//     3.1 type arrays). A route without a success answer panics at start.
//   - In a test binary NewServer installs the check of package openapitest
//     (and panics without it): every answer is validated against the
//     document, so a handler that drifts from it fails the test.
//   - A route with no Roles is public. Any other route needs an
//     authenticated client: missing or bad credentials give 401, a known
//     client whose role is not in Roles gives 403 (code forbidden). RoleAdmin
//     may call every authenticated route.
//   - A client proves who it is in one of three ways, tried in this order:
//     a verified TLS client certificate registered to a client
//     (Options.Certs; a certificate registered to nobody is transport only),
//     a signed request (Options.Signed; a bad signature is never retried as
//     anything else), or "Authorization: Bearer <key>" (Options.Auth).
//     The one key that may come in a URL is a RoleDisplay client's, as
//     ?display_token=, on routes with Route.DisplayToken (hall screens
//     cannot send headers); any other key there is 401. Access logs carry
//     the route template, never the query, so the token is not logged.
//   - Scopes: a client may be bound to a region and/or a bank (Principal,
//     Scope). Modules check the scope where the target is known, before
//     deciding anything, and return the *ScopeError of Scope.Check: it
//     leaves as 403 with code scope_region or scope_bank.
//   - 401, 403 and 429 are logged at warning level ("http request denied")
//     with the client, its scope and the problem code.
//   - With Options.RateLimit set, each client has a token bucket per server
//     instance; an empty bucket gives 429 rate_limited with Retry-After.
//     The clients of one e-card channel share one bucket, keyed by the
//     channel code, at RateLimit.ChannelPerSecond.
//   - Every error leaves the server as application/problem+json with a
//     stable machine-readable code; 5xx details are logged, never sent.
//   - With Options.RateStore as well (auth.RateBuckets, in PostgreSQL),
//     every instance takes a client's tokens from one shared bucket, so the
//     limit holds however many instances the client spreads over; the
//     per-instance bucket answers only while the store fails.
//   - Request bodies are limited (DefaultMaxBody unless the route says
//     otherwise) and decoded strictly by DecodeJSON: unknown fields, wrong
//     types, malformed JSON and trailing data are 400, oversized bodies 413;
//     text that is not UTF-8 is 400 invalid_utf8, never stored as U+FFFD;
//     so are path and query parameters that are not UTF-8 once decoded.
//   - Access logs carry request id, correlation id, client, status and
//     latency; never request or response bodies (they hold personal data).
//
// # Signed requests
//
// A business system signs each request with the HMAC secret it was given
// at registration and sends four headers:
//
//	X-CL-Client:    the client name
//	X-CL-Timestamp: Unix time in seconds (decimal)
//	X-CL-Nonce:     16 to 64 characters of A-Z a-z 0-9 _ -, new for every request
//	X-CL-Signature: lowercase hex of HMAC-SHA256(secret, canonical string)
//
// The secret is the whole printed string (with its cls_ prefix) as UTF-8
// bytes. The canonical string is seven lines joined by "\n" (no trailing
// newline):
//
//	CL1-HMAC-SHA256
//	<method, upper case>
//	<path and query exactly as in the request line, e.g. /v1/cards/A1/loss?x=1>
//	<X-CL-Timestamp>
//	<X-CL-Nonce>
//	<X-CL-Client>
//	<lowercase hex SHA-256 of the body; of the empty string when there is none>
//
// The server refuses (401) a timestamp more than MaxClockSkew (5 minutes)
// from its clock (signature_stale), a wrong signature (signature_invalid),
// malformed headers (signature_malformed) and a nonce the client used before
// (nonce_replayed). Nonces are checked only after the signature, and kept in
// shared storage until the timestamp can no longer be fresh, so a captured
// request cannot be replayed on any instance. SignRequest signs a Go
// *http.Request this way.
package httpapi
