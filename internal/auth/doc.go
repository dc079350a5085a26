// Package auth keeps the API clients of cardledger in PostgreSQL and
// authenticates their bearer keys.
//
// Invariants:
//   - A key is 32 random bytes, shown once by Add and never stored: the table
//     holds only its SHA-256, so a database leak does not leak usable keys.
//   - Client names are unique; each client has exactly one role.
//   - Authenticator caches lookups (hits and misses) for a short TTL, so a
//     removed client or a newly added key takes effect within that TTL.
package auth
