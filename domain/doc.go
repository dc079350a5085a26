// Package domain is the cardholder aggregate of cardledger: one event stream
// per person ("cardholder-<id>", see StreamFor) holding the registration and
// the life of every card the person had. Decide turns a command into events
// or a typed *Error; Apply folds events into a Cardholder; codec.go is the
// stored JSON form and its versions. The package is pure: no storage,
// transport or logging.
//
// # Identity
//
// The stream id is CardholderIDFor(key, ID number): a keyed HMAC, so stream
// names and logs carry no personal data, and registering the same person twice
// addresses the same stream and is refused (already_registered) — one person,
// one stream (一人一号).
//
// # State table
//
// Rows are commands, columns the status of the holder's current card (none:
// registered, no application yet). A cell is the status after the command
// ("=" unchanged, "+" a new application, status applied), or the code the
// command is refused with. An unregistered holder gets cardholder_not_found
// for everything but RegisterCardholder. Card commands name the card; a
// number that is not the current card's gives card_not_current (so do "none"
// and "applied", which have no number yet). TestStateTable executes this
// table; docs/errors.md lists every code.
//
//	                       none    applied  acct_op  produced issued  active  lost    temp    cancel  transf
//	register_cardholder    AR      AR       AR       AR       AR      AR      AR      AR      AR      AR
//	apply_for_card         +       VCE      VCE      VCE      VCE     VCE     VCE     VCE     +R      TO
//	open_bank_account      NPA     acct_op  AAO      NPA      NPA     NPA     NPA     NPA     NPA     NPA
//	refuse_bank_account    NPA     = (1)    AAO      NPA      NPA     NPA     NPA     NPA     NPA     NPA
//	assign_card_number     NPA     = (2)    CNA      NPA      NPA     NPA     NPA     NPA     NPA     NPA
//	record_production      CNC     CNC (3)  produced IT       IT      IT      IT      IT      IT      IT
//	record_prod._failure   CNC     CNC (3)  applied  IT       IT      IT      IT      IT      IT      IT
//	hand_over_card         CNC     CNC      IT       = (4)    IT      IT      IT      IT      IT      IT
//	issue_card             CNC     CNC      IT       issued   IT      IT      IT      IT      IT      IT
//	activate_card          CNC     CNC      IT       IT       active  IT      IT      IT      IT      IT
//	report_loss            CNC     CNC      IT       IT       lost    lost    IT      lost    IT      IT
//	report_temporary_loss  CNC     CNC      IT       IT       temp    temp    IT      IT      IT      IT
//	unlock_card            CNC     CNC      IT       IT       IT      IT      (5)     (5)     IT      IT
//	cancel_card            CNC     CNC      IT       IT       cancel  cancel  cancel  cancel  IT      IT
//	restore_cancellation   CNC     CNC      IT       IT       IT      IT      IT      IT      (6)     IT
//	reset_pin, change_pin  CNC     CNC      IT       IT       =       =       IT      IT      IT      IT
//	replace_card           CNC     CNC      IT       IT       +R (7)  +R (7)  +R (7)  +R (7)  +R      IT
//	transfer_out           CNC     CNC      IT       IT       transf  transf  IT      IT      IT      IT
//	issue_ecard            CNC     CNC      CNA'     CNA'     CNA'    = (8)   CNA'    CNA'    CNA'    CNA'
//	revoke_ecard           CNC     CNC      = (9)    = (9)    = (9)   = (9)   = (9)   = (9)   = (9)   = (9)
//	instant_issue          active  active   active   IT       VCE     VCE     VCE     VCE     active  TO
//	bind_ecard_channel     CNA'    CNA'     CNA'     CNA'     CNA'    = (10)  CNA'    CNA'    CNA'    CNA'
//	unbind_ecard_channel   ENB     ENB      ENB      ENB      ENB     ENB(11) ENB     ENB     ENB     ENB
//	grant_consent          =       =        =        =        =       =       =       =       =       =
//	revoke_consent         NC      NC       NC       NC       NC      NC (12) NC      NC      NC      NC
//	request_cancellation   CNC     CNC      IT       IT       = (13)  = (13)  = (13)  = (13)  IT      IT
//	change_phone           =       =        =        =        =       =       =       =       =       =
//	apply_through_channel  NBR     VCE      VCE      VCE      VCE     VCE     +R(14)  +R(14)  +R      TO
//	raise_ecard_risk_alert =       =        =        =        =       =       =       =       =       =
//	migrate_cardholder     AR(15)  AR       AR       AR       AR      AR      AR      AR      AR      AR
//	correct_personal_data  = (16)  =        =        =        =       =       =       =       =       =
//	collect_photo          = (18)  =        =        =        =       =       =       =       =       =
//	set_notification_pref. = (22)  =        =        =        =       =       =       =       =       =
//	move_identity          = (17)  IT       IT       IT       +C(17)  +C(17)  +C(17)  +C(17)  = (17)  TO
//	transfer_in            +T(19)  VCE      VCE      VCE      VCE     VCE     VCE     VCE     +T      +T
//	cancel_prov._record    CNF     CNF      CSV      CSV      CSV     CSV     CSV     CSV     =(20)   TO
//
//	AR already_registered    VCE valid_card_exists    TO transferred_out
//	NPA no_pending_application  AAO account_already_open  CNA card_number_already_assigned
//	CNC card_not_current     IT invalid_transition (Error.From, Error.Command say which)
//	CNA' card_not_active     +R new application of kind replacement with ReplacesCardNo
//	ENB ecard_not_bound      NC no_consent            NBR no_bank_to_route
//	CNF card_not_found       CSV card_still_valid
//
//	(1) the reason becomes Card.LastFailure; another bank may then open the account.
//	(2) the number may be assigned before or after the account is opened.
//	(3) production (and its failure) needs the number assigned and the
//	    account open: from account_opened, or from applied after a failed
//	    production, which keeps both (not_ready_for_production otherwise).
//	(4) custody moves From → To; From must be where the card is (custody_mismatch).
//	    Production leaves it at "vendor"; issue hands it to "holder".
//	(5) back to the status before the loss (issued or active); CardUnlocked.Lifted
//	    records which loss was lifted. A temporary loss confirmed as formal is
//	    lifted in one unlock.
//	(6) back to CardCancelled.From. A replaced card is never current, so a
//	    replacement cannot be undone (restore_not_allowed guards hand-made streams).
//	(7) CardCancelled{Cause: replacement, From} and CardApplied{Kind: replacement}
//	    in one decision, appended atomically.
//	(8) needs active; ecard_already_issued if it has one.
//	(9) no_ecard unless the card's e-card is issued.
//	(10) issues the e-card through the channel if the active card has none,
//	     else binds it to one more channel (ecard_already_bound if bound);
//	     the name and ID number must be the registered ones (identity_mismatch).
//	     Also allowed on an issued card whose e-card was carried over to it.
//	(11) ecard_not_bound unless the e-card is bound to that channel.
//	(12) no_consent unless the holder has a consent to that channel.
//	(13) cancellation_already_requested while one waits for the counter.
//	(14) as replace_card (补卡): the lost card cancelled with cause replacement,
//	     the e-card carried over; at the bank of the current or last card
//	     (no_bank_to_route without one).
//	(15) an unregistered holder is migrated (一代卡迁移, legacy_decide.go):
//	     CardholderMigrated{file, sha256, line}, CardholderRegistered and
//	     LegacyCardRecorded{generation first} in one append; the legacy card
//	     is current with its recorded status (active, lost, temporarily_lost
//	     or cancelled), so the rows above apply to it and replace_card
//	     (generation second or third) is how the holder gets a new card.
//	     Cards carry a generation; one stored without is second.
//	(16) name, employer_code, community_code, phone and email in every status; a
//	     photo_ref correction needs a current card (no_card_for_photo
//	     without one). Refused once erased (already_erased), for the value
//	     the holder already has (correction_unchanged), and — through a
//	     channel — for anything but the phone (phone_only_through_channel).
//	     A phone correction records PhoneChanged with its reason; the
//	     others PersonalDataCorrected (correction_events.go).
//	(17) ID-number change (身份证号码变更, correction_identity.go,
//	     docs/id-number-change.md): +C cancels the card in hand (cause
//	     replacement, e-card revoked with it), then IdentityMovedOut names
//	     the new stream; a card in production is refused (its chip would
//	     carry the old number). Afterwards every command but erase_cardholder
//	     is refused on the old stream (identity_moved). The new stream is
//	     opened by register_moved_identity: IdentityMovedIn first, then
//	     CardholderRegistered (PhotoCollected with it when Register.Photo
//	     carries the photo over) and, if a card was cancelled, CardApplied of
//	     kind replacement with ReplacesCardNo the old card.
//	(18) photo.go: PhotoCollected makes a stored photo (content address
//	     sha256:…) the holder's current one, also after an erasure. An
//	     application (apply, replace, instant issue, a channel's) carries
//	     it: photo_ref left out takes it, one that is not it is refused
//	     (photo_not_collected), except a batch file's free-text reference.
//	     A photo_ref correction (16) must name it too (photo_not_collected).
//	(19) 地市卡转移, inbound (province.go, docs/province.md): +T makes the
//	     province's record of a card of another prefecture (same_prefecture
//	     otherwise) the current card, in its recorded status issued or
//	     active (card_not_transferable for any other), CardTransferredIn
//	     with TransferredFrom; the card before it, if any, becomes a past
//	     card. From then on it is an ordinary card of this city: the rows
//	     above apply to it. There is no new status.
//	(20) 注销省厅卡信息: ProvincialRecordCancelled marks a cancelled card,
//	     current or past, as no longer recorded by the province (once:
//	     provincial_record_cancelled); a card still valid here is refused.
//	     The first-issue rule: apply_for_card, instant_issue and
//	     apply_through_channel of a holder with no valid card here are
//	     refused card_held_elsewhere while the province records a valid card
//	     of the person in another prefecture (RefuseHeldElsewhere, applied
//	     by the application layer with the province's answer).
//	(21) replace_card with a fee schedule also records ReplacementFeeAssessed
//	     right after its CardApplied (fee.go, docs/fees.md): exempted
//	     (elderly, hardship, card_defect) or due. So does every other
//	     application of kind replacement: apply_for_card after a
//	     cancellation (with the counter's claim), apply_through_channel (14)
//	     and an instant_issue opening its own application (no claim there;
//	     elderly applies by age; instant_issue is refused
//	     replacement_fee_unpaid when that fee would be due). A due fee holds the
//	     application: record_production and instant_issue refuse it
//	     (replacement_fee_unpaid) until record_fee_payment
//	     (ReplacementFeePaid; fee_already_paid, fee_amount_mismatch,
//	     no_fee_due, fee_not_found) — the status does not change.
//	(22) the holder's notification opt-out per medium (notification.go),
//	     in every status, also after an erasure (it holds no personal
//	     data); the preferences the holder already has are refused
//	     (notification_preferences_unchanged). Records
//	     NotificationPreferencesSet; the notifier reads it when it sends.
//
// InstantIssue (即时制卡) emits only the steps still missing, in order:
// CardApplied (source bank), BankAccountOpened, CardNumberAssigned,
// CardProduced, CardIssued, CardActivated. Continuing a pending application,
// its existing account and number must equal the command's
// (account_already_open, card_number_mismatch).
//
// # Invariants
//
//   - At most one valid card per person. A card in applied, account_opened,
//     produced, issued, active, lost or temporarily_lost is valid (IsValidCard);
//     a new application is refused while one exists (valid_card_exists) —
//     replace_card is the way. After a cancellation a new application is
//     allowed and is recorded as a replacement of the cancelled card
//     (ApplyForCard, ReplaceCard and InstantIssue all give the same
//     CardApplied). The old card moves to Cardholder.PastCards.
//   - A cancellation with cause death marks the holder deceased: no new
//     application or replacement until that cancellation is restored
//     (cardholder_deceased). CancelCard cannot use cause replacement.
//   - Transferred (地市卡转移) is final for this city: the card lives on in the
//     target city, so nothing more happens to it here and a new application
//     is refused (transferred_out). The target must be a valid region outside
//     the holder's prefecture (same_prefecture). The way back is
//     transfer_in (19), as for any card of another city.
//   - Transitions happen only from the statuses in the table; every other
//     pair is refused, and Decide never returns events together with an error.
//   - Card numbers are unique system-wide. The domain checks only the format
//     (ValidateCardNo); uniqueness is the application layer's job: it
//     reserves a number in a unique index before sending AssignCardNumber,
//     ReplaceCard's follow-up or InstantIssue, and releases it if the
//     append fails.
//   - Decide is pure: the card number, the account number, the chip id and
//     the issue date all come in the command. The one exception is the ID
//     number's birth date, checked against today's date in China.
//   - Issue dates are civil dates in China (UTC+8); a card expires
//     ValidityYears (10) years after its issue date.
//
// # The e-card rule
//
// The e-card (电子社保卡) belongs to the current card. It can be issued only
// while that card is active. It is usable (ECardUsable) while it is issued
// and not revoked and the physical card is issued or active: a loss or
// temporary loss makes it unusable without any e-card event, and unlocking
// makes it usable again. Projections derive usability the same way.
//
// Channels (issue 14). A channel (an app offering the e-card) issues it
// (签发: bind_ecard_channel on an active card without one, ECardIssued with
// the channel) or binds the issued e-card to itself (ECardChannelBound): one
// e-card, many bindings, kept on the holder (Cardholder.ECardChannels), not
// on a card. The channel's real-name check sends the name and ID number;
// both must be the registered ones (identity_mismatch), and the holder's
// consent may be granted in the same decision (ConsentGranted first, then
// the issue or binding, appended atomically). issue_ecard at the counter
// stays: an e-card with no channel, which channels then bind. An
// ECardIssued without a channel (every one stored before channels) is such
// a counter issue.
//
//   - Unbinding one channel leaves the others and revokes that channel's
//     consent in the same decision. Unbinding the last one leaves the
//     e-card issued with no channel: it still follows the card, and codes
//     need a bound channel anyway.
//   - A replacement (replace_card of a card not yet cancelled) whose card
//     has an issued e-card also records ECardCarriedOver: the new card's
//     e-card is issued, bindings unchanged, usable once that card is issued
//     or active; so does apply_through_channel replacing a lost card. A card
//     already cancelled has no e-card to carry (see next), so
//     apply_for_card, instant_issue and apply_through_channel after a
//     cancellation carry nothing.
//   - Cancellation (cancel_card) and transfer_out of a card with an issued
//     e-card also record ECardRevoked (cause card_cancelled, transferred),
//     which ends every binding; restore_cancellation does not bring the
//     e-card back (a counter issue_ecard or a channel binding does). Any
//     ECardRevoked ends every binding. Streams written before these rules
//     replay as they did: a cancellation stored without ECardRevoked still
//     leaves the e-card issued, and its restoration makes it usable again.
//   - Consent (授权): grant_consent gives a channel scopes (identity,
//     card_status, self_service, contact) until an expiry, at most
//     MaxConsentDuration (one year; also the default) after it is given; a
//     later grant to the same channel replaces it. ConsentAllows checks the
//     scope and the expiry at a given instant. revoke_consent ends it.
//   - Self-service through a channel: request_cancellation records a request
//     (CardCancellationRequested) that cancel_card at the counter confirms
//     and clears; change_phone records PhoneChanged (personal data, sealed
//     and erased with the person's key; refused once erased);
//     unlock_card with TemporaryOnly lifts only a temporary loss
//     (formal_loss_at_counter); apply_through_channel applies for a card at
//     the bank of the holder's current or last card (no_bank_to_route),
//     replacing a lost or temporarily lost card (never one in the holder's
//     hands: a channel does not cancel a working card).
//   - raise_ecard_risk_alert records ECardRiskAlerted (codes verified in two
//     regions within minutes); it changes no state.
//
// Two small aggregates live beside the cardholder (ecard_streams.go): the
// channel ("ecard-channel-<code>": suspend_channel, resume_channel, and the
// open platform's register_channel_app, open_channel, close_channel — a
// registered channel is closed until opened, ecard_channel_app.go) and the
// holder's access log ("ecard-access-<id>": ChannelAccessed per read under
// consent), each with the "e-card event" codec family.
//
// # Erasure
//
// erase_cardholder (allowed once, on a registered holder) records
// CardholderErased; from then on the personal fields of the state read
// ErasedMarker and every other command works as before (erasure.go).
//
// # Event versions
//
// An event's type name and shape are a stored contract. Every stored event
// records its type's schema version in its metadata (Metadata.SchemaVersion,
// taken from SchemaVersion when written); readers hand it to the codec
// (DecodeStoredEvent), which upcasts older payloads step by step to the
// current shape, so Apply, projections, rebuilds and analytics see only
// the current one. A version newer than the code is ErrUnknownSchemaVersion
// and stops the reader. To change a shape, add a version (codec.go says
// how): keep the old struct unexported, add a pure upcaster from the last
// version, test it on a stored log of the old version in testdata. If the
// change moves a personal field, piistore's rules must name it in every
// version's shape. Today every type is at version 1 except ECardRevoked
// (version 2: a closed Cause beside the free-text Reason; version 1 events
// read as cause "unrecorded").
//
// # Refusals
//
// Decide checks the command's own fields first (KindInvalid, every field
// error at once, code invalid_command), then that the holder and the named
// card exist (KindNotFound), then the state rules (KindConflict). Codes are
// the Code* constants in errors.go and are stable.
package domain
