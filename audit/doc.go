// Package audit proves that the event store's history was not rewritten
// and tells auditors who did what.
//
//   - Verify recomputes the hash chains of eventstore/chain, for one stream
//     or the whole log, and reports the first broken link of each broken
//     stream: an altered event, a missing revision (gap), an event without
//     a hash.
//   - A Digest is a signed (Ed25519) list of every stream's head (stream,
//     revision, hash) at a point of the log, with a root hash over the
//     sorted list. Digests are kept in PostgreSQL (schema "audit"),
//     announced as an event in the stream DigestStream, and can be exported
//     to a file. VerifyDigest checks later that every listed head still
//     exists with the same hash and that the chain up to it still holds:
//     rewriting any event before a digested head, or removing events at
//     the end of a stream, is then detected even if the rewriter
//     recomputed every hash, because the rewriter cannot sign a new digest.
//   - The projection (NewProjection) keeps, from the event metadata, one row
//     per event with who (client, operator, certificate subject), from where
//     (channel, remote address) and why (correlation and causation ids),
//     plus each stream's head for digests; the API serves
//     GET /v1/audit?actor=&from=&to= to auditors. Only unscoped (city
//     centre) auditors may list it: the trail spans the streams of every
//     region and bank, so a region- or bank-bound auditor is refused (403
//     scope_region / scope_bank) rather than shown a filtered trail.
//
// Invariants: the projection writes its rows and checkpoint in one
// transaction; a digest's heads are read in one snapshot together with the
// checkpoint they correspond to; a digest verifies only with the trusted
// public key given by the verifier, never with a key it carries itself.
//
// What the chain cannot show: events appended at the end of a stream after
// its last digest by someone able to write the database directly (they
// can compute valid hashes: the rule is public). Digests pin history up to
// their position; nothing pins the future.
package audit
