// Package commands is the write side of cardledger: the application layer
// that turns requests into domain commands, runs them against the event
// store, and the command HTTP API on top of it.
//
// Invariants:
//   - Pipeline (pipeline.go) is the one write path: every aggregate
//     (cardholder, batch, PSAM card, permission request, e-card channel,
//     e-card access log; domain.Aggregate)
//     is written through it, and it is the only place that retries on
//     concurrent writes: load, decide, append at the loaded revision
//     (NoStream for a new stream); on a wrong revision it decides again on
//     the new state, at most DefaultAttempts times. With an If-Match
//     revision it never retries: a moved stream is ErrRevisionMismatch
//     (412). Repository is its cardholder instance; batch.Service and
//     permissions.API hold the others. Create/CreateMany start new streams
//     (the batch import, many per commit when the store is an
//     eventstore.MultiAppender). Log appends to an append-only log
//     aggregate whose decisions read no state (the holder's e-card access
//     log) without reading its stream (expected revision Any).
//   - The cardholder pipeline decides on a bounded cache of decoded
//     streams (CARDLEDGER_STREAM_CACHE; Pipeline's doc has the rules): a
//     command is answered from a cached copy only when its append at
//     exactly the cached revision succeeds; a refusal, no-op, replay or
//     If-Match mismatch found on one, and a refused append, are decided
//     again on a fresh read. Load always reads. An erasure appended here
//     drops the holder's entry at once, one by another instance when the
//     keyring's erasure listener hears of it (and it moved the stream, so
//     the stale copy's append fails meanwhile); entries live 5 minutes
//     at most after their events were read from the store, however often
//     this process appends to them.
//   - Streams that are no aggregate's state are appended outside it, each
//     by one writer with its own rule, and pipeline_guard_test.go lists
//     them: card-number reservations (CardNumbers.Reserve, below), usage
//     records (analytics.Ingester: ids from the record id, so a re-sent
//     record is a duplicate, not a new event), the audit digest stream
//     (audit.announce), and the event store's own baseline
//     (devtools/loadgen). Everything else appends through Pipeline,
//     including the developer seeder (seed.History creates its synthetic
//     people with CreateMany); TestOnlyThePipelineAppends fails on a new
//     direct append.
//   - One envelope: every event's id, domain.Metadata and encoding come
//     from EncodeEvents (ids from the command id) or EncodeEvent (an id
//     the writer derives from what the event records: usage records,
//     digests, reservations), whoever appends it. Writers that record
//     what happened earlier set Envelope.OccurredAt (the seeder's
//     simulated dates) and writers with no command leave CommandID zero
//     (no causation id then); types no domain codec knows name their
//     schema version (OwnVersion) and encode as JSON (EncodeJSON).
//     TestOnlyCommandsBuildsEnvelopes fails when a package other than
//     commands and the event stores builds a domain.Metadata or an
//     eventstore.EventData. Personal data is sealed and the hash chain
//     computed below all of them, in the store every writer is given
//     (eventstore/piistore over the adapter), for Append and AppendMany
//     alike.
//   - Event ids derive from the command id and the event's index, and the
//     command id from (client, Idempotency-Key) when one is sent; so a
//     retried command appends nothing new, even after a crash between the
//     append and storing its response; it then answers from its events,
//     with the state they left.
//   - An Idempotency-Key is 409 idempotency_key_in_flight only while the
//     process running its first request lives: claims name their process's
//     PostgreSQL advisory lock (owner_lock.go), which dies with the
//     process, so a retry after a crash runs (or replays) the command at
//     once. A live process's claim is taken over after StaleIdempotencyClaim.
//   - A keyed command of one append to one stream (holderRoute, cardRoute)
//     on PostgreSQL claims nothing: its append writes the key's record in
//     the same statement (eventstore.RowAppender), so the record exists
//     exactly when the events do, and two requests of the key append once
//     and both answer from those events (see Idempotency).
//   - Card numbers are unique: each is reserved by the first and only event
//     (CardNumberReserved) of stream "cardno-<card_no>", appended with
//     NoStream before the cardholder stream records the assignment. Card
//     paths resolve card_no → cardholder through that stream, so they work
//     right after assignment on any store, without projections.
//   - A refused command appends nothing: invalid input → 400, business rule
//     → 409 with the domain code, unknown cardholder or card → 404.
//   - Every event carries domain.Metadata: event id, schema version,
//     occurred_at, actor (API client and X-Operator), channel ("http";
//     "ecard:<code>" for what an e-card channel does for a holder),
//     correlation and causation ids.
//   - An e-card channel caller (Principal.Channel) acts only for holders
//     whose e-card is bound to it and within their consent; checkChannel
//     (scope.go) is the one place that says so, for commands
//     (Repository.Update, at every attempt) and reads (Service.ChannelRead):
//     403 channel_suspended or channel_closed (read from the channel's stream on every call:
//     ChannelGate), holder_not_bound, consent_required; other_channel when it
//     names another channel's binding or consent. Every read under consent
//     appends a ChannelAccessed to the holder's "ecard-access-<id>" stream
//     (RecordChannelAccess), never to the cardholder's, so reads move no
//     revision.
//
// HTTP contract (RoleAdmin may call everything; bodies are strict JSON):
//
//	POST /v1/cardholders                              counter, bank   201
//	POST /v1/cardholders/{id}/applications            counter, bank   201
//	POST /v1/cardholders/{id}/instant-issuance        bank
//	POST /v1/cardholders/{id}/bank-account            bank
//	POST /v1/cardholders/{id}/bank-account-refusal    bank
//	POST /v1/cardholders/{id}/card-number             counter
//	POST /v1/cards/{card_no}/production               counter
//	POST /v1/cards/{card_no}/production-failure       counter
//	POST /v1/cards/{card_no}/handovers                counter
//	POST /v1/cards/{card_no}/issue                    counter, bank
//	POST /v1/cards/{card_no}/activation               counter, bank
//	POST /v1/cards/{card_no}/loss                     counter, bank
//	POST /v1/cards/{card_no}/temporary-loss           counter, bank
//	POST /v1/cards/{card_no}/unlock                   counter, bank
//	POST /v1/cards/{card_no}/cancellation             counter
//	POST /v1/cards/{card_no}/restoration              counter
//	POST /v1/cards/{card_no}/replacement              counter, bank
//	POST /v1/cards/{card_no}/pin-reset                counter, bank
//	POST /v1/cards/{card_no}/pin-change               counter, bank
//	POST /v1/cards/{card_no}/transfer                 counter
//	POST /v1/cards/{card_no}/ecard                    counter
//	POST /v1/cards/{card_no}/ecard/revocation         counter
//	GET  /v1/cardholders/{id}/history                 auditor, counter
//	GET  /v1/cards/{card_no}/history                  auditor, counter
//	GET  /v1/cardholders/{id}/state[?as_of=RFC3339]   auditor, counter
//
// E-card channels (routes_ecard.go; consent scope a channel needs in brackets):
//
//	POST /v1/ecard/bindings                               channel   issue or bind; body id_number, name, scopes, expires_at
//	POST /v1/cardholders/{id}/ecard/unbinding             channel, counter
//	POST /v1/cardholders/{id}/consents                    channel, counter   grant
//	GET  /v1/cardholders/{id}/consents                    channel, counter   a channel sees its own
//	POST /v1/cardholders/{id}/consents/{channel}/revocation  channel, counter
//	POST /v1/cardholders/{id}/self-service/temporary-loss       channel [self_service]
//	POST /v1/cardholders/{id}/self-service/unlock               channel [self_service] temporary loss only
//	POST /v1/cardholders/{id}/self-service/cancellation-request channel [self_service]
//	POST /v1/cardholders/{id}/self-service/activation           channel [self_service]
//	POST /v1/cardholders/{id}/self-service/instant-application  channel [self_service]
//	POST /v1/cardholders/{id}/self-service/phone                channel [contact]
//	GET  /v1/cardholders/{id}/self-service/status               channel [card_status] recorded
//	GET  /v1/cardholders/{id}/self-service/production           channel [card_status] recorded
//	POST /v1/ecard/channels/{code}/suspension             admin
//	POST /v1/ecard/channels/{code}/resumption             admin
//	GET  /v1/ecard/channels/{code}                        admin
//
// Personal data upkeep (routes_correction.go):
//
//	POST /v1/cardholders/{id}/corrections        counter; channel [contact] phone only; body field, value, reason
//	POST /v1/cardholders/{id}/id-number-change   counter; two streams linked (routes_identity.go)
//
// Notification opt-out (routes_notification.go):
//
//	POST /v1/cardholders/{id}/notification-preferences   counter; channel [contact]; body sms_opt_out, email_opt_out
//
// Photos and the police identity check (routes_photo.go, identity_check.go):
//
//	POST /v1/cardholders/{id}/photo   counter   201; body image (base64 JPEG/PNG card photo) → PhotoCollected
//	GET  /v1/cardholders/{id}/photo   counter, bank   the image; 404 photo_not_found, 410 photo_erased
//
// With an identity source (API.WithIdentity, CARDLEDGER_POLICE_URL),
// POST /v1/cardholders and counter applications and replacements check
// name and ID number first and refuse before anything is written
// (police_identity_mismatch, police_identity_not_found 422;
// police_unavailable 503, police_bad_answer 502, police_timeout 504); a
// match brings the police photo with it.
//
// The provincial card database (省持卡库, routes_province.go, province.go:
// the Province port; docs/province.md):
//
//	GET  /v1/cardholders/{id}/provincial-cards                 counter, auditor; the province's records (下载异地卡信息)
//	POST /v1/cardholders/{id}/transfer-in                      counter; 地市卡转移, inbound
//	POST /v1/cards/{card_no}/provincial-record/cancellation    counter; 注销省厅卡信息
//	POST /v1/province/uploads                                  admin; incremental upload of this city's records
//	GET  /v1/province/records                                  admin; the same records as a JSON Lines file
//
// With a province configured, first applications (applications,
// instant-issuance, self-service instant-application, the bulk import) are
// refused card_held_elsewhere while the person holds a valid card of
// another city; a province that fails is 503 province_unavailable and
// nothing is written.
//
// Analysts, blacklist consumers and terminals have no access here: they
// read projections (terminals verify e-card codes in package ecard). Command responses carry cardholder_id, revision, position
// (opaque) and the appended event types, and the revision as ETag ("7").
// Headers: Idempotency-Key (same key and body → the first response again,
// marked Idempotent-Replayed: true, also when the first request died after
// its command happened; same key, other body → 422; 409 while the first
// request still runs, except on one-append routes, where it gets the
// answer),
// If-Match: <revision> (412 when the cardholder moved on), X-Operator (the
// person at the client's counter, recorded in the actor).
package commands
