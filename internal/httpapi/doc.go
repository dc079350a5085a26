// Package httpapi is the HTTP plumbing every cardledger API module shares:
// the route table type, authentication and roles, problem+json errors, strict
// JSON decoding, request/correlation ids, access logs and the OpenAPI
// document generated from the route table.
//
// Invariants:
//   - Every route is declared once, in a []Route table; NewServer registers
//     the table and generates GET /openapi.json from the same table, so the
//     document cannot drift from what is served.
//   - A route with no Roles is public. Any other route needs
//     "Authorization: Bearer <key>": no or an unknown key gives 401, a known
//     client whose role is not in Roles gives 403. RoleAdmin may call every
//     authenticated route.
//   - Every error leaves the server as application/problem+json with a
//     stable machine-readable code; 5xx details are logged, never sent.
//   - Request bodies are limited (DefaultMaxBody unless the route says
//     otherwise) and decoded strictly by DecodeJSON: unknown fields, wrong
//     types, malformed JSON and trailing data are 400, oversized bodies 413.
//   - Access logs carry request id, correlation id, client, status and
//     latency; never request or response bodies (they hold personal data).
package httpapi
