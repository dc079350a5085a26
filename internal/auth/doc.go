// Package auth keeps the API clients of cardledger in PostgreSQL and
// authenticates them: bearer keys, signed requests (HMAC secrets and the
// nonces they used) and TLS client certificates (by subject).
//
// Invariants:
//   - A client has exactly one way in (auth column: bearer, hmac, ed25519
//     or tls). An ed25519 client signs with its own key; the table holds its
//     public key only (nothing to seal), and its signatures are checked
//     under scheme CL1-ED25519 only, an hmac client's under CL1-HMAC-SHA256
//     only.
//   - A bearer key is 32 random bytes, shown once by Add and never stored:
//     the table holds only its SHA-256, so a database leak does not leak
//     usable keys. An HMAC secret is shown once too; the server must
//     compute the same HMAC, so it is stored recoverable: sealed with
//     AES-256-GCM under SecretKeys (AddSealed; cardledger derives them from
//     the PII master key), bound to the client's name. Secrets stored in
//     clear by older versions (or by Add) are still read, and SealSecrets,
//     run at server start, reseals them and those of a retired key.
//   - Client names and certificate subjects are unique; each client has
//     exactly one role and optionally a region and a bank scope.
//   - A nonce is accepted once per client until it expires (primary key
//     (client, nonce) in api_nonces), whichever instance sees it; expired
//     nonces are swept about once a minute.
//   - Authenticator caches client lookups (hits and misses) for a short TTL,
//     so a removed client, a new key or a granted role takes effect within
//     that TTL. Nonces are never cached.
package auth
