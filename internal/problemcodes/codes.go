// Package problemcodes is the one table of the stable codes the HTTP API
// answers with: the `code` of a problem (application/problem+json) and the
// codes inside a response body (errors[].code of a field, a file's line, a
// usage record; a batch job member's failure). Clients branch on these, so
// each code has one meaning, wherever it appears, and a meaning has one code.
//
// The codes themselves stay constants of the packages that answer with
// them (domain, internal/httpapi, commands, ...); this table only lists
// them. Its tests fail when production code answers with a code the table
// lacks, when a code is listed twice, when a problem constructor answers a
// code with another status than the table's, and when docs/errors.md (made
// from the table: go test ./internal/problemcodes -update) is out of date.
package problemcodes

// Code is one stable code.
type Code struct {
	Code string
	// Status is the HTTP status of a problem with this code; 0 for a code
	// that only appears inside a response body, never as a problem's code.
	Status int
	// Package is where the code's constant is defined.
	Package string
	Meaning string
}

// Table lists every code, problem codes first, grouped by package.
var Table = []Code{
	// The HTTP plumbing: authentication, decoding, routing, outages.
	{"malformed_json", 400, "internal/httpapi", "the body is not well-formed JSON"},
	{"invalid_utf8", 400, "internal/httpapi, domain", "text is not UTF-8 (or has a lone \\u surrogate escape); also a field's code"},
	{"unknown_field", 400, "internal/httpapi", "the body has a field the request does not take"},
	{"wrong_type", 400, "internal/httpapi", "a body field has the wrong JSON type"},
	{"trailing_data", 400, "internal/httpapi", "the body has more after its JSON value"},
	{"empty_body", 400, "internal/httpapi", "the request needs a body and has none"},
	{"invalid_query", 400, "internal/httpapi", "a query parameter is invalid, in any API (readapi, audit, analytics); errors[] names each bad parameter"},
	{"invalid_request", 400, "internal/httpapi", "the request is invalid in a way with no code of its own (errors[] says which field); other client errors keep their status"},
	{"body_too_large", 413, "internal/httpapi", "the body is over the route's size limit"},
	{"unsupported_media_type", 415, "internal/httpapi", "the body's Content-Type is not the one the route takes"},
	{"unauthenticated", 401, "internal/httpapi", "no valid API key (or signed-request credentials)"},
	{"signature_malformed", 401, "internal/httpapi", "the request signature headers cannot be parsed"},
	{"signature_stale", 401, "internal/httpapi", "the signed request's timestamp is outside the allowed clock skew"},
	{"signature_invalid", 401, "internal/httpapi", "the signature does not match the request"},
	{"nonce_replayed", 401, "internal/httpapi", "the signed request's nonce was already used"},
	{"forbidden", 403, "internal/httpapi", "the client's role may not call this route"},
	{"scope_region", 403, "internal/httpapi", "the target cardholder is outside the client's region scope"},
	{"scope_bank", 403, "internal/httpapi", "the target card is outside the client's bank scope"},
	{"not_found", 404, "internal/httpapi", "no such route or resource"},
	{"method_not_allowed", 405, "internal/httpapi", "the route does not take this method"},
	{"rate_limited", 429, "internal/httpapi", "the client is over its request rate; retry after Retry-After"},
	{"client_closed_request", 499, "internal/httpapi", "the client went away before the answer (logged; nobody reads it)"},
	{"internal_error", 500, "internal/httpapi", "an unexpected error; quote the request id"},
	{"unavailable", 503, "internal/httpapi", "authentication could not be done for a reason other than a known outage; retry"},
	{"dependency_unavailable", 503, "internal/httpapi", "a database the request needs is down, unreachable or saturated; nothing was decided, retry after Retry-After"},

	// Commands: the application layer around the domain.
	{"invalid_idempotency_key", 400, "commands", "the Idempotency-Key header is malformed"},
	{"invalid_if_match", 400, "commands", "the If-Match header is not a revision"},
	{"invalid_operator", 400, "commands", "the X-Operator header is not at most 64 printable characters"},
	{"invalid_as_of", 400, "commands", "the as_of query parameter is not an RFC 3339 time"},
	{"revision_mismatch", 412, "commands", "the cardholder changed since the If-Match revision; read it again"},
	{"concurrent_modification", 409, "commands", "the cardholder is being changed concurrently; retry"},
	{"idempotency_key_reused", 422, "commands", "the Idempotency-Key was used for a different request"},
	{"idempotency_key_in_flight", 409, "commands", "a request with this Idempotency-Key is still running; retry later"},
	{"holder_not_bound", 403, "commands, ecard", "an e-card channel acts only for holders whose e-card is bound to it; a code whose channel binding ended is refused too"},
	{"consent_required", 403, "commands, ecard", "the holder's consent to the channel does not cover this (never given, revoked, expired, or another scope)"},
	{"other_channel", 403, "commands", "an e-card channel acts only on its own binding and consent, never another channel's"},
	{"channel_suspended", 403, "commands, ecard", "the administrator suspended the e-card channel: all its requests, and every code it made, are refused"},

	// The domain: refused commands (KindInvalid 400, KindNotFound 404, KindConflict 409).
	{"invalid_command", 400, "domain", "the command is malformed; errors[] names every bad field"},
	{"unknown_command", 400, "domain", "no such command"},
	{"cardholder_not_found", 404, "domain", "no cardholder is registered with this id (write and read side alike)"},
	{"card_not_found", 404, "domain", "no card with this number was ever assigned (write and read side alike; also a usage record's field code)"},
	{"card_not_current", 404, "domain", "the card number is not the cardholder's current card"},
	{"already_registered", 409, "domain", "the cardholder is registered already (also a bulk import row's code)"},
	{"already_erased", 409, "domain", "the cardholder's personal data is erased already"},
	{"invalid_transition", 409, "domain", "the command is not allowed in the card's status (from and command say which)"},
	{"valid_card_exists", 409, "domain", "the person has a valid card or pending application already (one per person)"},
	{"no_pending_application", 409, "domain", "the step needs a pending application and there is none"},
	{"account_already_open", 409, "domain", "the bank account is opened already"},
	{"card_number_already_assigned", 409, "domain", "the application has a card number already"},
	{"card_number_mismatch", 409, "domain", "a different card number is assigned already"},
	{"not_ready_for_production", 409, "domain", "production needs the bank account and the card number first"},
	{"custody_mismatch", 409, "domain", "the hand-over's from is not where the card is"},
	{"restore_not_allowed", 409, "domain", "the cancellation cannot be restored"},
	{"same_prefecture", 409, "domain", "the transfer's target is inside the holder's own city"},
	{"transferred_out", 409, "domain", "the holder's card lives in another city now"},
	{"cardholder_deceased", 409, "domain", "the cardholder is recorded as deceased"},
	{"ecard_already_issued", 409, "domain", "the e-card is issued already"},
	{"no_ecard", 409, "domain", "there is no e-card to revoke"},
	{"card_not_active", 409, "domain", "an e-card needs an active card"},
	{"ecard_already_bound", 409, "domain", "the e-card is bound to this channel already"},
	{"ecard_not_bound", 409, "domain", "the e-card is not bound to this channel, so it cannot be unbound"},
	{"identity_mismatch", 409, "domain", "the name or ID number a channel sent is not the registered one"},
	{"no_consent", 409, "domain", "the holder has no consent to this channel to revoke"},
	{"cancellation_already_requested", 409, "domain", "a cancellation request for the card waits for the counter already"},
	{"formal_loss_at_counter", 409, "domain", "a channel lifts only a temporary loss; a formal loss is lifted at the counter"},
	{"no_bank_to_route", 409, "domain", "the holder never had a card at a bank, so a channel's instant application has no bank to go to"},
	{"channel_already_suspended", 409, "domain", "the e-card channel is suspended already"},
	{"channel_not_suspended", 409, "domain", "the e-card channel is not suspended"},
	{"correction_unchanged", 409, "domain", "the correction's value is already the holder's"},
	{"identity_moved", 409, "domain", "the holder's ID number changed; the history goes on in another cardholder stream"},
	{"no_card_for_photo", 409, "domain", "a photo correction needs a current card, whose application carries the photo"},
	{"psam_exists", 409, "domain", "a PSAM with this serial is stocked already"},
	{"psam_not_found", 404, "domain", "no PSAM with this serial"},
	{"permission_request_exists", 409, "domain", "a permission request with this id exists already"},
	{"permission_request_not_found", 404, "domain", "no such permission request"},
	{"permission_request_decided", 409, "domain", "the permission request is decided already"},
	{"permission_self_decision", 409, "domain", "nobody decides their own permission request"},
	{"batch_exists", 409, "domain", "a batch with this id exists already"},
	{"batch_not_found", 404, "domain", "no such batch"},
	{"batch_wrong_step", 409, "domain", "the step is not the batch's next one"},
	{"batch_empty", 409, "domain", "the batch filter selected nobody"},
	{"batch_job_running", 409, "domain", "a job of the batch is running; wait for it"},
	{"batch_job_mismatch", 409, "domain", "job progress for a job that is not running"},
	{"batch_job_not_retryable", 409, "domain", "only the batch's last job is retried, and only before the batch moves on"},
	{"batch_custody", 409, "domain", "the batch hand-over's from is not where the cards are"},
	{"export_mismatch", 409, "domain", "the regenerated export file differs from the recorded one"},
	{"return_rejected", 400, "domain", "the return file has problems; errors[] lists every one, by line"},
	{"return_different", 409, "domain", "another return file for this export was accepted already"},

	// The modules' own problems.
	{"projection_behind", 503, "readapi", "the read model has not reached min_position within the wait; retry"},
	{"invalid_position", 400, "readapi", "min_position is not a position"},
	{"application_not_found", 404, "readapi", "no such card application"},
	{"requester_not_county", 403, "permissions", "only a county administrator requests permissions"},
	{"approver_not_city", 403, "permissions", "only a city administrator decides permission requests"},
	{"role_not_grantable", 403, "permissions", "the admin role is never delegated"},
	{"operator_unknown", 422, "permissions", "no client with this name"},
	{"too_many_records", 400, "analytics", "more usage records in one call than allowed"},
	{"usage_records_rejected", 422, "analytics", "some usage records were refused (errors[]), the others recorded"},
	{"usage_batch_rejected", 422, "analytics", "all_or_nothing and some record is bad: nothing recorded"},
	{"code_malformed", 400, "ecard", "the e-card code is not one the server could have made: truncated, padded, re-encoded, oversized, unknown version"},
	{"code_bad_signature", 422, "ecard", "the e-card code's key is unknown or retired, or its signature is wrong"},
	{"code_expired", 422, "ecard", "the e-card code is past its expiry; the holder shows a new one"},
	{"code_used", 409, "ecard", "the e-card code was verified already (by this or another terminal); codes verify once"},
	{"ecard_revoked", 409, "ecard", "the holder's e-card is not issued or was revoked"},
	{"card_not_usable", 409, "ecard", "the card behind the e-card is lost, temporarily lost, cancelled, transferred, replaced or not yet issued (on the blacklist or not usable)"},
	{"client_without_channel", 403, "ecard", "a channel client registered without a channel code"},
	{"invalid_file", 400, "batch", "an uploaded batch file cannot be read"},
	{"import_not_found", 404, "batch", "no such import job"},
	{"batch_job_not_found", 404, "batch", "no such job of the batch"},

	// Codes inside a response body only.
	{"required", 0, "domain", "the field is missing or empty"},
	{"too_long", 0, "domain", "the field is longer than allowed"},
	{"invalid_id_number", 0, "domain", "not a valid 18-character ID number (check digit, date, region)"},
	{"invalid_region_code", 0, "domain", "not a known region code"},
	{"invalid_card_no", 0, "domain", "not a well-formed card number"},
	{"invalid_chip_id", 0, "domain", "not a well-formed chip id"},
	{"invalid_phone", 0, "domain", "not a valid phone number"},
	{"phone_only_through_channel", 0, "domain", "a channel corrects the holder's phone only; other data at the counter"},
	{"invalid_value", 0, "domain", "not one of the field's values, or malformed"},
	{"sex_mismatch", 0, "domain", "the sex contradicts the ID number"},
	{"mismatch", 0, "domain", "the value contradicts another the command or the state fixes"},
	{"in_future", 0, "domain", "the usage record's time is later than now"},
	{"negative_amount", 0, "domain", "a usage amount is negative (refunds are not usage)"},
	{"wrong_batch", 0, "domain", "the return file's line is for another batch"},
	{"wrong_file", 0, "domain", "the file is not a return file"},
	{"unknown_person", 0, "domain", "the return file's line names nobody in the batch"},
	{"duplicate_line", 0, "domain", "the return file names the person twice"},
	{"missing_person", 0, "domain", "the return file leaves out a person of the batch"},
	{"more_problems", 0, "domain", "the return file has more problems than the report lists"},
	{"duplicate_id", 0, "analytics", "the usage record's id names a different record already"},
	{"invalid_role", 0, "permissions", "not a role that can be requested"},
	{"bad_encoding", 0, "batch/files", "the exchange file's text encoding is wrong"},
	{"bad_header", 0, "batch/files", "the exchange file's header line is wrong"},
	{"bad_line", 0, "batch/files", "an exchange file line cannot be parsed"},
	{"bad_sequence", 0, "batch/files", "the exchange file's line numbers are out of sequence"},
	{"bad_line_count", 0, "batch/files", "the exchange file's trailer count disagrees with its lines"},
	{"bad_checksum", 0, "batch/files", "the exchange file's checksum does not match"},
	{"bad_trailer", 0, "batch/files", "the exchange file's trailer line is wrong"},
	{"duplicate_in_file", 0, "batch", "the import file has the same ID number on more than one line"},
	{"error", 0, "batch", "an import row failed for a reason other than a refusal (the message says why)"},
	{"apply_error", 0, "batch", "a batch job item failed for a reason other than a refusal (the reason says why)"},
}
