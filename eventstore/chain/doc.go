// Package chain is the hash-chain rule that makes every stream of the event
// store tamper-evident. It is pure: adapters call Hash when they append,
// and auditors call it again (through Walker) to verify what is stored.
//
// Every event's hash covers the event and the hash of the event before it
// in the same stream, so changing, removing or reordering any stored event
// changes every hash after it; keeping a signed copy of a stream's last
// hash (a digest, see package audit) therefore pins the whole stream.
//
// # Byte layout (version 1)
//
// The hash of an event is SHA-256 over the concatenation of
//
//	"cardledger/chain/v1"         19 bytes, ASCII, no length prefix
//	u64(len(stream)) stream       stream name, UTF-8
//	u64(revision)                 the event's stream revision
//	id                            16 bytes, the event id (RFC 4122 byte order)
//	u64(len(type)) type           event type, UTF-8
//	u64(len(data)) data           data exactly as stored
//	u64(len(metadata)) metadata   metadata exactly as the application gave it
//	u64(len(prev)) prev           previous event's hash; empty at revision 0
//
// where u64 is a big-endian unsigned 64-bit integer. Absent data or
// metadata hash like empty ones. PostgreSQL computes the same bytes in SQL
// (pgstore's eventstore_chain_hash); the conformance suite checks the two
// agree.
//
// # Where the hash is stored
//
// PostgreSQL keeps it in the column eventstore_events.hash. EventStoreDB has
// no spare field, so the adapter stores the application's metadata inside an
// envelope (EncodeMetadata) and unwraps it on read (DecodeMetadata):
//
//	{"chain":"v1:<64 lowercase hex>"}                              no metadata
//	{"chain":"v1:<64 lowercase hex>","metadata":<metadata>}        JSON metadata
//	{"chain":"v1:<64 lowercase hex>","metadata_b64":"<base64>"}    other bytes
//
// Metadata is embedded verbatim when it is valid JSON without leading or
// trailing white space, and as standard padded base64 otherwise. Every
// envelope has exactly one encoding, and DecodeMetadata accepts only that
// one, so decoding gives back the exact bytes that were hashed.
//
// Invariants: Hash is deterministic and never fails; DecodeMetadata(
// EncodeMetadata(h, m)) returns h and m; an envelope DecodeMetadata accepts
// re-encodes to the same bytes.
package chain
