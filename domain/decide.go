package domain

import (
	"fmt"
)

// Decide returns the events that command cmd causes on cardholder c, or an
// *Error saying why it is refused. It is pure: it reads c and cmd only (and
// today's date, for the ID number's birth date) and never changes c.
//
// Checks run in a fixed order so that callers get the most useful refusal:
// the command's own fields (KindInvalid, all field errors at once), then
// whether the holder and the named card exist (KindNotFound), then the
// business rules of the current state (KindConflict).
func Decide(c *Cardholder, cmd CardholderCommand) ([]Event, error) {
	if err := refuseMoved(c, cmd); err != nil {
		return nil, err
	}
	switch cmd := cmd.(type) {
	case RegisterCardholder:
		return decideRegister(c, cmd)
	case ApplyForCard:
		return decideApply(c, cmd)
	case OpenBankAccount:
		return decideOpenAccount(c, cmd)
	case RefuseBankAccount:
		return decideRefuseAccount(c, cmd)
	case AssignCardNumber:
		return decideAssignNumber(c, cmd)
	case RecordProduction:
		return decideProduction(c, cmd)
	case RecordProductionFailure:
		return decideProductionFailure(c, cmd)
	case HandOverCard:
		return decideHandOver(c, cmd)
	case IssueCard:
		return decideIssue(c, cmd)
	case ActivateCard:
		return decideActivate(c, cmd)
	case ReportLoss:
		return decideReportLoss(c, cmd)
	case ReportTemporaryLoss:
		return decideTemporaryLoss(c, cmd)
	case UnlockCard:
		return decideUnlock(c, cmd)
	case CancelCard:
		return decideCancel(c, cmd)
	case RestoreCancellation:
		return decideRestore(c, cmd)
	case ResetPIN:
		return decidePIN(c, cmd.CommandName(), cmd.CardNo, PINReset{CardNo: cmd.CardNo})
	case ChangePIN:
		return decidePIN(c, cmd.CommandName(), cmd.CardNo, PINChanged{CardNo: cmd.CardNo})
	case ReplaceCard:
		return decideReplace(c, cmd)
	case MigrateCardholder:
		return decideMigrate(c, cmd)
	case TransferOut:
		return decideTransfer(c, cmd)
	case TransferIn:
		return decideTransferIn(c, cmd)
	case CancelProvincialRecord:
		return decideCancelProvincialRecord(c, cmd)
	case IssueECard:
		return decideIssueECard(c, cmd)
	case RevokeECard:
		return decideRevokeECard(c, cmd)
	case InstantIssue:
		return decideInstantIssue(c, cmd)
	case EraseCardholder:
		return decideErase(c)
	case BindECardChannel:
		return decideBindECardChannel(c, cmd)
	case UnbindECardChannel:
		return decideUnbindECardChannel(c, cmd)
	case GrantConsent:
		return decideGrantConsent(c, cmd)
	case RevokeConsent:
		return decideRevokeConsent(c, cmd)
	case RequestCancellation:
		return decideRequestCancellation(c, cmd)
	case ChangePhone:
		return decideChangePhone(c, cmd)
	case ApplyThroughChannel:
		return decideApplyThroughChannel(c, cmd)
	case RaiseECardRiskAlert:
		return decideRaiseECardRiskAlert(c, cmd)
	case CorrectPersonalData:
		return decideCorrection(c, cmd)
	case SetNotificationPreferences:
		return decideNotificationPreferences(c, cmd)
	case CollectPhoto:
		return decideCollectPhoto(c, cmd)
	case MoveIdentity:
		return decideMoveIdentity(c, cmd)
	case RecordFeePayment:
		return decideFeePayment(c, cmd)
	case RegisterMovedIdentity:
		return decideRegisterMovedIdentity(c, cmd)
	case nil:
		return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: "no command"}
	}
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand,
		Message: fmt.Sprintf("unknown command %T", cmd)}
}

func one(e Event) ([]Event, error) { return []Event{e}, nil }

// in reports whether s is one of the listed statuses.
func in(s CardStatus, allowed ...CardStatus) bool {
	for _, a := range allowed {
		if s == a {
			return true
		}
	}
	return false
}

// IsValidCard reports whether a card in status s counts as the person's one
// valid card and so blocks a new application: a pending application or a
// card in the holder's hands, lost or not.
func IsValidCard(s CardStatus) bool {
	return in(s, StatusApplied, StatusAccountOpened, StatusProduced,
		StatusIssued, StatusActive, StatusLost, StatusTemporarilyLost)
}

func requireRegistered(c *Cardholder) error {
	if !c.Registered {
		return NotFound(CodeCardholderNotFound, "cardholder %s is not registered", c.ID)
	}
	return nil
}

// currentCard returns the holder's current card if its number is cardNo.
func currentCard(c *Cardholder, cardNo string) (*Card, error) {
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	card := c.card(cardNo)
	if card == nil {
		return nil, NotFound(CodeCardNotCurrent, "card %s is not the current card of cardholder %s", cardNo, c.ID)
	}
	return card, nil
}

// cardIn is currentCard plus the rule that cmd is allowed only in the listed statuses.
func cardIn(c *Cardholder, cmd, cardNo string, allowed ...CardStatus) (*Card, error) {
	card, err := currentCard(c, cardNo)
	if err != nil {
		return nil, err
	}
	if !in(card.Status, allowed...) {
		return nil, InvalidTransition(card.Status, cmd)
	}
	return card, nil
}

func decideRegister(c *Cardholder, cmd RegisterCardholder) ([]Event, error) {
	var f fieldErrors
	if f.required("cardholder_id", cmd.CardholderID) {
		f.ref("cardholder_id", cmd.CardholderID)
		if c.ID != "" && cmd.CardholderID != c.ID {
			f.add("cardholder_id", CodeMismatch, "cardholder_id %s does not name this stream", cmd.CardholderID)
		}
	}
	idOK := false
	if f.required("id_number", cmd.IDNumber) {
		if err := ValidateIDNumber(cmd.IDNumber); err != nil {
			f.add("id_number", CodeInvalidIDNumber, "%v", err)
		} else {
			idOK = true
		}
	}
	name := nameField(&f, "name", cmd.Name)
	sex := cmd.Sex
	switch {
	case sex != "" && !sex.Valid():
		f.add("sex", CodeInvalidValue, "sex %q is not male or female", sex)
	case idOK && sex == "":
		sex = SexOf(cmd.IDNumber)
	case idOK && sex != SexOf(cmd.IDNumber):
		f.add("sex", CodeSexMismatch, "the ID number says %s", SexOf(cmd.IDNumber))
	}
	if f.required("nationality", cmd.Nationality) && !ValidateNationality(cmd.Nationality) {
		f.add("nationality", CodeInvalidValue, "nationality must be an ISO 3166-1 alpha-3 code such as CHN")
	}
	f.regionCode("region_code", cmd.RegionCode)
	phoneField(&f, "phone", cmd.Phone, false)
	f.ref("employer_code", cmd.EmployerCode)
	f.ref("community_code", cmd.CommunityCode)
	if cmd.Photo != nil {
		photoFields(&f, *cmd.Photo)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if c.Registered {
		return nil, Conflict(CodeAlreadyRegistered, "cardholder %s is already registered", c.ID)
	}
	registered := CardholderRegistered{
		CardholderID:  cmd.CardholderID,
		IDNumber:      cmd.IDNumber,
		Name:          name,
		Sex:           sex,
		BirthDate:     cmd.IDNumber[6:10] + "-" + cmd.IDNumber[10:12] + "-" + cmd.IDNumber[12:14],
		Nationality:   cmd.Nationality,
		RegionCode:    cmd.RegionCode,
		Phone:         cmd.Phone,
		EmployerCode:  cmd.EmployerCode,
		CommunityCode: cmd.CommunityCode,
	}
	if cmd.Photo == nil {
		return one(registered)
	}
	return []Event{registered, PhotoCollected{Photo: *cmd.Photo}}, nil
}

// canApply checks that c may start a new application: registered, alive,
// not transferred away and without a valid card. It returns the card number
// the new card replaces ("" for a first card).
func canApply(c *Cardholder, cmd string) (replaces string, err error) {
	if err := requireRegistered(c); err != nil {
		return "", err
	}
	if c.Deceased {
		return "", Conflict(CodeCardholderDeceased, "cardholder %s is recorded as deceased", c.ID)
	}
	switch s := c.Status(); {
	case s == StatusNone:
		return "", nil
	case s == StatusCancelled:
		return c.Card.CardNo, nil
	case s == StatusTransferred:
		return "", Conflict(CodeTransferredOut, "the card of cardholder %s was transferred to %s", c.ID, c.Card.TransferredTo)
	case IsValidCard(s):
		return "", Conflict(CodeValidCardExists, "cardholder %s already has a %s card or application; replace it instead", c.ID, s)
	default:
		return "", InvalidTransition(s, cmd)
	}
}

func kindFor(replaces string) ApplicationKind {
	if replaces == "" {
		return FirstIssue
	}
	return Replacement
}

func decideApply(c *Cardholder, cmd ApplyForCard) ([]Event, error) {
	var f fieldErrors
	f.requiredRef("application_id", cmd.ApplicationID)
	f.source("source", cmd.Source)
	applicationBankFields(&f, cmd.Source, cmd.BankCode)
	feeField(&f, cmd.Fee)
	if err := f.err(); err != nil {
		return nil, err
	}
	replaces, err := canApply(c, cmd.CommandName())
	if err != nil {
		return nil, err
	}
	photo, err := applicationPhoto(c, cmd.Source, cmd.PhotoRef)
	if err != nil {
		return nil, err
	}
	// After a cancellation the application replaces the cancelled card
	// and pays like replace_card; a first issue is free.
	var fee *ReplacementFeeAssessed
	switch {
	case replaces != "":
		if fee, err = assessFee(c, cmd.ApplicationID, cmd.Fee); err != nil {
			return nil, err
		}
	case cmd.Fee != nil && cmd.Fee.Claim != "":
		return nil, Conflict(CodeNoFeeDue, "a first issue costs nothing, so there is nothing to exempt")
	}
	return withFee([]Event{CardApplied{
		ApplicationID:  cmd.ApplicationID,
		Source:         cmd.Source,
		Kind:           kindFor(replaces),
		BankCode:       cmd.BankCode,
		PhotoRef:       photo,
		ReplacesCardNo: replaces,
	}}, fee), nil
}

// pendingApplication returns the current card if it is an application
// waiting for its account or number.
func pendingApplication(c *Cardholder) (*Card, error) {
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	if c.Card == nil || !in(c.Card.Status, StatusApplied, StatusAccountOpened) {
		return nil, Conflict(CodeNoPendingApplication, "cardholder %s has no pending application (card is %s)", c.ID, c.Status())
	}
	return c.Card, nil
}

// needsAccount returns the pending application if its bank account is not open yet.
func needsAccount(c *Cardholder) (*Card, error) {
	card, err := pendingApplication(c)
	if err != nil {
		return nil, err
	}
	if card.AccountNo != "" {
		return nil, Conflict(CodeAccountAlreadyOpen, "application %s already has account %s at %s", card.ApplicationID, card.AccountNo, card.BankCode)
	}
	return card, nil
}

func decideOpenAccount(c *Cardholder, cmd OpenBankAccount) ([]Event, error) {
	var f fieldErrors
	openAccountFields(&f, cmd.BankCode, cmd.AccountNo)
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := needsAccount(c)
	if err != nil {
		return nil, err
	}
	return one(BankAccountOpened{ApplicationID: card.ApplicationID, BankCode: cmd.BankCode, AccountNo: cmd.AccountNo})
}

func decideRefuseAccount(c *Cardholder, cmd RefuseBankAccount) ([]Event, error) {
	var f fieldErrors
	refuseAccountFields(&f, cmd.BankCode, cmd.Reason)
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := needsAccount(c)
	if err != nil {
		return nil, err
	}
	return one(BankAccountRefused{ApplicationID: card.ApplicationID, BankCode: cmd.BankCode, Reason: cmd.Reason})
}

func decideAssignNumber(c *Cardholder, cmd AssignCardNumber) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := pendingApplication(c)
	if err != nil {
		return nil, err
	}
	if card.CardNo != "" {
		return nil, Conflict(CodeCardNumberAssigned, "application %s already has card number %s", card.ApplicationID, card.CardNo)
	}
	return one(CardNumberAssigned{ApplicationID: card.ApplicationID, CardNo: cmd.CardNo})
}

// readyForProduction returns the current card if the vendor may produce it:
// pending, numbered cardNo and with its bank account open.
func readyForProduction(c *Cardholder, cmd, cardNo string) (*Card, error) {
	card, err := cardIn(c, cmd, cardNo, StatusApplied, StatusAccountOpened)
	if err != nil {
		return nil, err
	}
	if card.AccountNo == "" {
		return nil, Conflict(CodeNotReadyForProduction, "card %s has no bank account yet", cardNo)
	}
	return card, nil
}

func decideProduction(c *Cardholder, cmd RecordProduction) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	productionFields(&f, cmd.ChipID, cmd.Vendor)
	if err := f.err(); err != nil {
		return nil, err
	}
	card, err := readyForProduction(c, cmd.CommandName(), cmd.CardNo)
	if err != nil {
		return nil, err
	}
	if err := refuseUnpaid(card); err != nil {
		return nil, err
	}
	return one(CardProduced{CardNo: cmd.CardNo, ChipID: cmd.ChipID, Vendor: cmd.Vendor})
}

func decideProductionFailure(c *Cardholder, cmd RecordProductionFailure) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	productionFailureFields(&f, cmd.Reason)
	if err := f.err(); err != nil {
		return nil, err
	}
	if _, err := readyForProduction(c, cmd.CommandName(), cmd.CardNo); err != nil {
		return nil, err
	}
	return one(CardProductionFailed{CardNo: cmd.CardNo, Reason: cmd.Reason})
}
