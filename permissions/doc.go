// Package permissions is the delegation flow (权限下放) over HTTP: a county
// administrator requests a role in a region for an operator client, a city
// administrator approves or rejects it. Every step is an event in the
// request's own stream (domain.PermissionStreamFor), so the full history is
// kept; GET /v1/permission-requests/{id} shows it.
//
// Invariants:
//   - Only an administrator bound to a county (admin role, county region
//     code) requests, for its own county and for an operator client inside
//     it; a requested role is never admin.
//   - Only an administrator above county level whose region covers the
//     request (a city, a province, or unrestricted) decides, and never its
//     own request.
//   - Approval grants the operator the role and region in the clients table
//     (auth.Grant) in the approval handler, after the approval event is
//     appended. Approving an approved request again re-applies the grant and
//     answers as before, so a crash between the append and the grant is
//     repaired by retrying the approval.
//   - Nothing is appended when a caller is refused.
//   - Requests and decisions are written through the one write pipeline
//     (commands.Pipeline). The command id is the client's Idempotency-Key's
//     (commands.CommandIDFor) and event ids and the request id derive from
//     it, so a command retried with its key appends nothing twice and
//     answers as the first time; without a key every request is new.
package permissions
