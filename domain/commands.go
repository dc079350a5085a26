package domain

import "time"

// Commands of the cardholder aggregate. A command carries everything the
// decision needs, including values chosen outside the domain (the card number
// reserved by the application layer, today's date), so Decide stays pure.
// Card commands name the card they act on; it must be the holder's current card.

// Command is implemented by every command.
type Command interface {
	CommandName() string
}

type RegisterCardholder struct {
	CardholderID  string // derived from IDNumber by CardholderIDFor
	IDNumber      string
	Name          string
	Sex           Sex
	Nationality   string
	RegionCode    string
	Phone         string
	EmployerCode  string
	CommunityCode string
	// Photo, when set, is a photo already stored for this person (the
	// identity source's, fetched at registration): registered with it.
	Photo *Photo
}

type ApplyForCard struct {
	ApplicationID string
	Source        ApplicationSource
	BankCode      string
	PhotoRef      string
	// Fee is the fee schedule and claim, assessed when the application
	// replaces a cancelled card (fee.go); nil charges none.
	Fee *ReplacementFee
}

type OpenBankAccount struct {
	BankCode  string
	AccountNo string
}

type RefuseBankAccount struct {
	BankCode string
	Reason   string
}

type AssignCardNumber struct {
	CardNo string
}

type RecordProduction struct {
	CardNo string
	ChipID string
	Vendor string
}

type RecordProductionFailure struct {
	CardNo string
	Reason string
}

type HandOverCard struct {
	CardNo  string
	From    string
	To      string
	Handler string
}

type IssueCard struct {
	CardNo string
	On     time.Time // issue date; the card expires ValidityYears later
	Agency string
}

type ActivateCard struct{ CardNo string }

type ReportLoss struct{ CardNo, Reason string }

type ReportTemporaryLoss struct{ CardNo, Reason string }

type UnlockCard struct {
	CardNo, Reason string
	// TemporaryOnly refuses to lift a formal loss (formal_loss_at_counter):
	// a holder's channel lifts only a temporary loss, a formal one is lifted
	// at the counter.
	TemporaryOnly bool
}

type CancelCard struct {
	CardNo string
	Cause  CancelCause // empty means CauseRequest
	Reason string
}

type RestoreCancellation struct{ CardNo, Reason string }

type ResetPIN struct{ CardNo string }

type ChangePIN struct{ CardNo string }

// ReplaceCard cancels the current card and applies for a new one, atomically (补换卡).
type ReplaceCard struct {
	CardNo        string
	ApplicationID string
	Source        ApplicationSource
	BankCode      string
	PhotoRef      string
	Reason        string
	// Generation is the new card's: second or third; "" leaves it unsaid
	// (second). A migrated holder's first-generation card is replaced so.
	Generation Generation
	// Fee is the replacement fee to assess (fee.go); nil charges none.
	Fee *ReplacementFee
}

type TransferOut struct {
	CardNo   string
	ToRegion string
	Reason   string
}

type IssueECard struct{ CardNo string }

type RevokeECard struct {
	CardNo string
	Cause  ECardRevocationCause // empty means ECardCauseRequest
	Reason string               // required with ECardCauseOther
}

// InstantIssue is the bank counter flow: apply (if no application is
// pending), open the account, assign the number, produce, issue and activate
// in one decision (即时制卡).
type InstantIssue struct {
	ApplicationID string // used when a new application is needed
	BankCode      string
	AccountNo     string
	CardNo        string
	ChipID        string
	On            time.Time
	Agency        string
	// Fee is the fee schedule for an application this opens as a
	// replacement (fee.go); no claim. nil charges none.
	Fee *ReplacementFee
}

func (RegisterCardholder) CommandName() string      { return "register_cardholder" }
func (ApplyForCard) CommandName() string            { return "apply_for_card" }
func (OpenBankAccount) CommandName() string         { return "open_bank_account" }
func (RefuseBankAccount) CommandName() string       { return "refuse_bank_account" }
func (AssignCardNumber) CommandName() string        { return "assign_card_number" }
func (RecordProduction) CommandName() string        { return "record_production" }
func (RecordProductionFailure) CommandName() string { return "record_production_failure" }
func (HandOverCard) CommandName() string            { return "hand_over_card" }
func (IssueCard) CommandName() string               { return "issue_card" }
func (ActivateCard) CommandName() string            { return "activate_card" }
func (ReportLoss) CommandName() string              { return "report_loss" }
func (ReportTemporaryLoss) CommandName() string     { return "report_temporary_loss" }
func (UnlockCard) CommandName() string              { return "unlock_card" }
func (CancelCard) CommandName() string              { return "cancel_card" }
func (RestoreCancellation) CommandName() string     { return "restore_cancellation" }
func (ResetPIN) CommandName() string                { return "reset_pin" }
func (ChangePIN) CommandName() string               { return "change_pin" }
func (ReplaceCard) CommandName() string             { return "replace_card" }
func (TransferOut) CommandName() string             { return "transfer_out" }
func (IssueECard) CommandName() string              { return "issue_ecard" }
func (RevokeECard) CommandName() string             { return "revoke_ecard" }
func (InstantIssue) CommandName() string            { return "instant_issue" }
