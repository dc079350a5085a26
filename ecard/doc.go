// Package ecard is the e-card's dynamic identity code (动态码): a short-lived
// code a channel app shows as a QR image and a terminal (hospital, pharmacy,
// service hall) verifies.
//
// A code is a compact binary payload signed with Ed25519 and written in
// RFC 4648 base32 (upper case, no padding), whose alphabet is a subset of
// QR's alphanumeric mode, so a code fits QR version 7 at error-correction
// level M (code.go; byte layout in docs/ecard.md). It carries the card
// number and the channel code, never a name, ID number or phone.
//
// Invariants:
//   - Parse is strict: one text per payload; anything else is ErrMalformed,
//     an unknown or retired key or a wrong signature ErrBadSignature, a code
//     past its expiry ErrExpired.
//   - Signing keys (keys.go) are stored sealed under a key derived from the
//     master key; rotation makes a new key the signer at once and keeps the
//     previous one accepted until its retirement, at least a code's lifetime
//     plus the clock skew later.
//   - A code verifies once across every instance (the verifications table
//     is keyed by the code id), and verification checks the card's state
//     now: a card reported lost fails every outstanding code at once.
//   - Only successful verifications leave a trace: the claim row and one
//     identity_auth usage record (channel ecard_qr) whose id derives from
//     the code id; a refused code appends nothing.
package ecard
