package domain

func decideHandOver(c *Cardholder, cmd HandOverCard) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	handOverFields(&f, cmd.From, cmd.To, cmd.Handler)
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := cardIn(c, cmd.CommandName(), cmd.CardNo, StatusProduced)
	if err != nil {
		return nil, err
	}
	// The chain of custody must be unbroken.
	if card.Custody.At != cmd.From {
		return nil, Conflict(CodeCustodyMismatch, "card %s is at %s, not at %s", cmd.CardNo, card.Custody.At, cmd.From)
	}
	return one(CardHandedOver{CardNo: cmd.CardNo, From: cmd.From, To: cmd.To, Handler: cmd.Handler})
}

func decideIssue(c *Cardholder, cmd IssueCard) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	if cmd.On.IsZero() {
		f.add("on", CodeRequired, "on is required")
	}
	issueFields(&f, cmd.Agency)
	if err := f.err(); err != nil {
		return nil, err
	}
	if _, err := cardIn(c, cmd.CommandName(), cmd.CardNo, StatusProduced); err != nil {
		return nil, err
	}
	issued, expires := issueDates(cmd.On)
	return one(CardIssued{CardNo: cmd.CardNo, IssuedOn: issued, ExpiresOn: expires, Agency: cmd.Agency})
}

// simpleCardCommand validates a command that names a card and an optional
// reason, and checks that the card is current and in an allowed status.
func simpleCardCommand(c *Cardholder, cmd, cardNo, reason string, allowed ...CardStatus) (*Card, error) {
	var f fieldErrors
	f.cardNo("card_no", cardNo)
	f.text("reason", reason, maxTextLen)
	if err := f.err(); err != nil {
		return nil, err
	}
	return cardIn(c, cmd, cardNo, allowed...)
}

func decideActivate(c *Cardholder, cmd ActivateCard) ([]Event, error) {
	if _, err := simpleCardCommand(c, cmd.CommandName(), cmd.CardNo, "", StatusIssued); err != nil {
		return nil, err
	}
	return one(CardActivated{CardNo: cmd.CardNo})
}

func decideReportLoss(c *Cardholder, cmd ReportLoss) ([]Event, error) {
	// A temporary loss may be confirmed as a formal one.
	if _, err := simpleCardCommand(c, cmd.CommandName(), cmd.CardNo, cmd.Reason,
		StatusIssued, StatusActive, StatusTemporarilyLost); err != nil {
		return nil, err
	}
	return one(CardReportedLost{CardNo: cmd.CardNo, Reason: cmd.Reason})
}

func decideTemporaryLoss(c *Cardholder, cmd ReportTemporaryLoss) ([]Event, error) {
	if _, err := simpleCardCommand(c, cmd.CommandName(), cmd.CardNo, cmd.Reason,
		StatusIssued, StatusActive); err != nil {
		return nil, err
	}
	return one(CardTemporarilyLost{CardNo: cmd.CardNo, Reason: cmd.Reason})
}

func decideUnlock(c *Cardholder, cmd UnlockCard) ([]Event, error) {
	card, err := simpleCardCommand(c, cmd.CommandName(), cmd.CardNo, cmd.Reason,
		StatusLost, StatusTemporarilyLost)
	if err != nil {
		return nil, err
	}
	if cmd.TemporaryOnly && card.Status == StatusLost {
		return nil, Conflict(CodeFormalLossAtCounter, "card %s is formally reported lost; that loss is lifted at the counter", cmd.CardNo)
	}
	return one(CardUnlocked{CardNo: cmd.CardNo, Lifted: card.Status, Reason: cmd.Reason})
}

// cancellable are the statuses a card can be cancelled (or replaced) from:
// it exists physically and is not cancelled or gone already.
func cancellable() []CardStatus {
	return []CardStatus{StatusIssued, StatusActive, StatusLost, StatusTemporarilyLost}
}

func decideCancel(c *Cardholder, cmd CancelCard) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	f.text("reason", cmd.Reason, maxTextLen)
	cause := cmd.Cause
	if cause == "" {
		cause = CauseRequest
	}
	switch {
	case !cause.Valid():
		f.add("cause", CodeInvalidValue, "cause %q is not one of request, death, other", cause)
	case cause == CauseReplacement:
		f.add("cause", CodeInvalidValue, "a replacement cancels the old card itself; use replace_card")
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := cardIn(c, cmd.CommandName(), cmd.CardNo, cancellable()...)
	if err != nil {
		return nil, err
	}
	return append([]Event{CardCancelled{CardNo: cmd.CardNo, Cause: cause, From: card.Status, Reason: cmd.Reason}},
		ecardEndsWith(card, ECardCauseCardCancelled)...), nil
}

func decideRestore(c *Cardholder, cmd RestoreCancellation) ([]Event, error) {
	card, err := simpleCardCommand(c, cmd.CommandName(), cmd.CardNo, cmd.Reason, StatusCancelled)
	if err != nil {
		return nil, err
	}
	// A replaced card never is the current one when Decide wrote the events;
	// the check keeps a hand-made stream from getting two valid cards.
	if card.Cancellation == nil || card.Cancellation.Cause == CauseReplacement || !in(card.Cancellation.From, cancellable()...) {
		return nil, Conflict(CodeRestoreNotAllowed, "the cancellation of card %s cannot be undone", cmd.CardNo)
	}
	return one(CardCancellationRestored{CardNo: cmd.CardNo, To: card.Cancellation.From, Reason: cmd.Reason})
}

func decidePIN(c *Cardholder, cmd, cardNo string, e Event) ([]Event, error) {
	if _, err := simpleCardCommand(c, cmd, cardNo, "", StatusIssued, StatusActive); err != nil {
		return nil, err
	}
	return one(e)
}

func decideReplace(c *Cardholder, cmd ReplaceCard) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	f.requiredRef("application_id", cmd.ApplicationID)
	f.source("source", cmd.Source)
	if cmd.Source == SourceBank {
		f.requiredRef("bank_code", cmd.BankCode)
	} else {
		f.ref("bank_code", cmd.BankCode)
	}
	f.text("reason", cmd.Reason, maxTextLen)
	if cmd.Generation != "" && cmd.Generation != GenerationSecond && cmd.Generation != GenerationThird {
		f.add("generation", CodeInvalidValue, "generation %q: a new card is second or third generation", cmd.Generation)
	}
	feeField(&f, cmd.Fee)
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := currentCard(c, cmd.CardNo)
	if err != nil {
		return nil, err
	}
	photo, err := applicationPhoto(c, cmd.Source, cmd.PhotoRef)
	if err != nil {
		return nil, err
	}
	if c.Deceased {
		return nil, Conflict(CodeCardholderDeceased, "cardholder %s is recorded as deceased", c.ID)
	}
	if !in(card.Status, append(cancellable(), StatusCancelled)...) {
		return nil, InvalidTransition(card.Status, cmd.CommandName())
	}
	fee, err := assessFee(c, cmd.ApplicationID, cmd.Fee)
	if err != nil {
		return nil, err
	}
	applied := CardApplied{
		ApplicationID:  cmd.ApplicationID,
		Source:         cmd.Source,
		Kind:           Replacement,
		BankCode:       cmd.BankCode,
		PhotoRef:       photo,
		ReplacesCardNo: cmd.CardNo,
		Generation:     cmd.Generation,
	}
	switch {
	case card.Status == StatusCancelled:
		// Already invalid: only the new application is needed.
		return withFee([]Event{applied}, fee), nil
	case in(card.Status, cancellable()...):
		events := []Event{
			CardCancelled{CardNo: cmd.CardNo, Cause: CauseReplacement, From: card.Status, Reason: cmd.Reason},
			applied,
		}
		// The e-card moves to the new card (a cancelled card's e-card
		// ended with its cancellation, so the case above carries nothing).
		if card.ECardIssued {
			events = append(events, ECardCarriedOver{ApplicationID: cmd.ApplicationID, FromCardNo: cmd.CardNo})
		}
		return withFee(events, fee), nil
	}
	return nil, InvalidTransition(card.Status, cmd.CommandName())
}

func decideTransfer(c *Cardholder, cmd TransferOut) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	f.regionCode("to_region", cmd.ToRegion)
	f.text("reason", cmd.Reason, maxTextLen)
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := cardIn(c, cmd.CommandName(), cmd.CardNo, StatusIssued, StatusActive)
	if err != nil {
		return nil, err
	}
	if PrefectureOf(cmd.ToRegion) == PrefectureOf(c.Profile.RegionCode) {
		return nil, Conflict(CodeSamePrefecture, "region %s is in the holder's own prefecture %s", cmd.ToRegion, PrefectureOf(c.Profile.RegionCode))
	}
	return append([]Event{CardholderTransferredOut{CardNo: cmd.CardNo, FromRegion: c.Profile.RegionCode, ToRegion: cmd.ToRegion, Reason: cmd.Reason}},
		ecardEndsWith(card, ECardCauseTransferred)...), nil
}

func decideIssueECard(c *Cardholder, cmd IssueECard) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := currentCard(c, cmd.CardNo)
	if err != nil {
		return nil, err
	}
	if card.Status != StatusActive {
		return nil, Conflict(CodeCardNotActive, "card %s is %s; an e-card needs an active card", cmd.CardNo, card.Status)
	}
	if card.ECardIssued {
		return nil, Conflict(CodeECardAlreadyIssued, "card %s already has an e-card", cmd.CardNo)
	}
	return one(ECardIssued{CardNo: cmd.CardNo})
}

func decideRevokeECard(c *Cardholder, cmd RevokeECard) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	f.text("reason", cmd.Reason, maxTextLen)
	cause := cmd.Cause
	if cause == "" {
		cause = ECardCauseRequest
	}
	switch {
	case !cause.Commandable():
		f.add("cause", CodeInvalidValue, "cause %q is not one of request, misuse, other", cause)
	case cause == ECardCauseOther:
		f.required("reason", cmd.Reason)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := currentCard(c, cmd.CardNo)
	if err != nil {
		return nil, err
	}
	if !card.ECardIssued {
		return nil, Conflict(CodeNoECard, "card %s has no e-card", cmd.CardNo)
	}
	return one(ECardRevoked{CardNo: cmd.CardNo, Cause: cause, Reason: cmd.Reason})
}

// decideInstantIssue runs the bank-counter flow in one decision, skipping
// the steps an existing pending application has already done. Values the
// application already has (account, card number) must agree with the command.
func decideInstantIssue(c *Cardholder, cmd InstantIssue) ([]Event, error) {
	name := cmd.CommandName()
	var f fieldErrors
	f.requiredRef("bank_code", cmd.BankCode)
	f.accountNo("account_no", cmd.AccountNo)
	f.cardNo("card_no", cmd.CardNo)
	f.chipID("chip_id", cmd.ChipID)
	if cmd.On.IsZero() {
		f.add("on", CodeRequired, "on is required")
	}
	f.text("agency", cmd.Agency, maxRefLen)
	f.ref("application_id", cmd.ApplicationID)
	feeField(&f, cmd.Fee)
	unclaimedFeeField(&f, cmd.Fee, "an instant issue")
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	var events []Event
	card := c.Card
	if err := refuseUnpaid(card); err != nil && in(card.Status, StatusApplied, StatusAccountOpened) {
		return nil, err
	}
	if card == nil || !in(card.Status, StatusApplied, StatusAccountOpened) {
		replaces, err := canApply(c, name)
		if err != nil {
			if c.Status() == StatusProduced {
				return nil, InvalidTransition(StatusProduced, name)
			}
			return nil, err
		}
		if cmd.ApplicationID == "" {
			return nil, Invalid(FieldError{Field: "application_id", Code: CodeRequired,
				Message: "application_id is required when there is no pending application"})
		}
		card = &Card{ApplicationID: cmd.ApplicationID}
		events = append(events, CardApplied{
			ApplicationID:  cmd.ApplicationID,
			Source:         SourceBank,
			Kind:           kindFor(replaces),
			BankCode:       cmd.BankCode,
			PhotoRef:       currentPhotoRef(c),
			ReplacesCardNo: replaces,
		})
		if replaces != "" {
			fee, err := assessFee(c, cmd.ApplicationID, cmd.Fee)
			if err != nil {
				return nil, err
			}
			// A due fee holds the card it would make at once: the bank
			// applies (replace_card), the holder pays, then instant issue
			// continues that application.
			if fee != nil && fee.Exemption == "" {
				return nil, Conflict(CodeReplacementFeeUnpaid, "a replacement costs %d fen, paid before the card is made: "+
					"apply for the replacement first (replace_card), then issue once it is paid", fee.AmountFen)
			}
			events = withFee(events, fee)
		}
	}
	switch {
	case card.AccountNo == "":
		events = append(events, BankAccountOpened{ApplicationID: card.ApplicationID, BankCode: cmd.BankCode, AccountNo: cmd.AccountNo})
	case card.AccountNo != cmd.AccountNo || card.BankCode != cmd.BankCode:
		return nil, Conflict(CodeAccountAlreadyOpen, "application %s already has account %s at %s", card.ApplicationID, card.AccountNo, card.BankCode)
	}
	switch card.CardNo {
	case "":
		events = append(events, CardNumberAssigned{ApplicationID: card.ApplicationID, CardNo: cmd.CardNo})
	case cmd.CardNo:
	default:
		return nil, Conflict(CodeCardNumberMismatch, "application %s already has card number %s", card.ApplicationID, card.CardNo)
	}
	issued, expires := issueDates(cmd.On)
	return append(events,
		CardProduced{CardNo: cmd.CardNo, ChipID: cmd.ChipID},
		CardIssued{CardNo: cmd.CardNo, IssuedOn: issued, ExpiresOn: expires, Agency: cmd.Agency},
		CardActivated{CardNo: cmd.CardNo},
	), nil
}
