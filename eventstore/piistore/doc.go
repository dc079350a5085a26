// Package piistore keeps personal data in the event store encrypted under
// a key per person, so that deleting that key erases the person's data
// from an append-only history without rewriting it.
//
// Store decorates any eventstore.Store. On Append it moves the personal
// fields of an event (the rules in policy.go: CardholderRegistered's
// id_number, name, birth_date and phone; CardApplied's photo_ref;
// PhoneChanged's phone; PersonalDataCorrected's name, photo_ref and email;
// PhotoCollected's photo_ref; each BatchMembersAdded member's id_number,
// name, birth_date and photo_ref)
// into an envelope sealed with AES-256-GCM under the person's data key:
//
//	{"cardholder_id":"…","sex":"male",…,"pii":{"v":1,"sub":"<cardholder id>","gen":1,"f":["id_number","name",…],"n":"…","ct":"…"}}
//
// On ReadStream, ReadAll and SubscribeAll it puts the fields back, so
// every reader (commands, projections, history API, batch files) sees the
// event as it was appended — except after an erasure, when each sealed
// field reads as domain.ErasedMarker.
//
// Data too large for an event (photos) is a blob (blobs.go): table
// pii_blobs, by person and content address, sealed under the same key and
// deleted with it.
//
// # Whose key
//
// The person is the cardholder id (an HMAC of the ID number, never the
// number itself): the id of the "cardholder-<id>" stream for cardholder
// events, the member's cardholder_id for batch members, so erasing a
// person also erases them from every batch list. Personal data in any
// other stream would get a key per stream ("stream:<name>"); no event has
// such data today.
//
// # Keys
//
// Data keys (random, 32 bytes) live in the read-model database, table
// pii_data_keys, wrapped (AES-256-GCM) by a master key from configuration;
// a row names its master key by id (a hash of the key). Unwrapped keys are
// cached per process (bounded count and age, see KeyringOptions), and so
// are events opened with them, each only while the key-cache entries it
// was opened with are still the cached ones (opened.go): the plaintext
// goes when the keys go.
//
// # Invariants
//
//   - No personal field of a ruled event is stored in clear; a field that
//     is absent or empty is left as it is (nothing to hide).
//   - A ciphertext opens only in the event (id, type, place) it was sealed
//     for; damaged envelopes and ciphertexts fail the read with ErrCorrupt,
//     never with a panic or a silently skipped event.
//   - The chain hash covers the data as stored, i.e. the sealed form, so
//     erasure changes no stored byte and `audit verify` (which reads the
//     wrapped store, Inner) still verifies.
//   - Erasure (a CardholderErased event appended through Store) deletes the
//     person's keys before the event is written and leaves a tombstone row;
//     every process that reads the event drops its cached key, and every
//     process whose keyring Listens (serve and project do) drops it at the
//     erasure's commit (NOTIFY on ErasureChannel); others within the cache
//     age. Data sealed later (a new card application's photo) gets a new
//     key generation.
//   - Events written before this package was in use have no envelope and
//     are returned as stored (they are not re-encrypted: that would break
//     the chain).
//
// # Rotating the master key
//
//  1. Make a new key: `cardledger keys generate`.
//  2. Restart every instance with CARDLEDGER_MASTER_KEY set to the new key
//     and CARDLEDGER_MASTER_KEY_OLD set to the old one: new data keys are
//     wrapped by the new key, existing ones still unwrap.
//  3. Run `cardledger keys rotate --new-master-key-file FILE` (or
//     --new-master-key): it re-wraps every data key under the new key, in
//     small transactions, resumable, next to live traffic.
//  4. `cardledger keys status` shows no data key under the old id: remove
//     CARDLEDGER_MASTER_KEY_OLD and destroy the old key.
package piistore
