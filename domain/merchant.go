package domain

import (
	"fmt"
	"slices"
	"time"
)

// Payment merchants (支付商户管理): a financial-payment app of the open
// platform registers a merchant, an administrator approves or rejects it,
// and the merchant is bound to one or more apps of the same account, which
// then create payment orders for it. Each merchant is its own stream
// ("merchant-<id>"). Rules kept here:
//   - a merchant registers once, with a name, a valid unified social credit
//     code, a four-digit merchant category code (MCC, GB/T 20548 / ISO 18245)
//     and a settlement account (bank code, account number, account name);
//   - the registering app is bound from the start;
//   - it is decided once, approved or rejected;
//   - only an approved merchant takes orders (merchant_not_approved), and
//     only through an app bound to it (merchant_app_not_bound).

// MerchantStreamPrefix starts every merchant stream name.
const MerchantStreamPrefix = "merchant-"

// MerchantStreamFor is the stream of merchant id.
func MerchantStreamFor(id string) string { return MerchantStreamPrefix + id }

// MerchantStatus is where a merchant stands.
type MerchantStatus string

const (
	MerchantStatusNone     MerchantStatus = ""
	MerchantStatusPending  MerchantStatus = "pending"
	MerchantStatusApproved MerchantStatus = "approved"
	MerchantStatusRejected MerchantStatus = "rejected"
)

// Codes of refused merchant commands.
const (
	CodeMerchantExists       = "merchant_exists"            // KindConflict
	CodeMerchantNotFound     = "merchant_not_found"         // KindNotFound
	CodeMerchantDecided      = "merchant_decided"           // KindConflict
	CodeMerchantNotApproved  = "merchant_not_approved"      // KindConflict
	CodeMerchantAppBound     = "merchant_app_bound"         // KindConflict: bound already
	CodeMerchantAppNotBound  = "merchant_app_not_bound"     // KindConflict (403 at the HTTP layer)
	CodeMerchantLastApp      = "merchant_last_app"          // KindConflict: a merchant keeps one app
	CodeInvalidMCC           = "invalid_mcc"                // field
	CodeInvalidSettlementAcc = "invalid_settlement_account" // field
)

// SettlementAccount is where a merchant's takings are settled.
type SettlementAccount struct {
	BankCode  string `json:"bank_code"`  // three digits, the bank of the account
	AccountNo string `json:"account_no"` // 8 to 32 digits
	Name      string `json:"name"`       // the account holder's name
}

// Merchant events.
type (
	MerchantRegistered struct {
		MerchantID string            `json:"merchant_id"`
		AccountID  string            `json:"account_id"`
		AppID      string            `json:"app_id"` // the registering app, bound from the start
		Name       string            `json:"name"`
		CreditCode string            `json:"credit_code"`
		MCC        string            `json:"mcc"`
		Settlement SettlementAccount `json:"settlement"`
		By         string            `json:"by"`
		At         time.Time         `json:"at"`
	}
	MerchantApproved struct {
		MerchantID string    `json:"merchant_id"`
		By         string    `json:"by"`
		Note       string    `json:"note,omitempty"`
		At         time.Time `json:"at"`
	}
	MerchantRejected struct {
		MerchantID string    `json:"merchant_id"`
		By         string    `json:"by"`
		Reason     string    `json:"reason,omitempty"`
		At         time.Time `json:"at"`
	}
	MerchantAppBound struct {
		MerchantID string    `json:"merchant_id"`
		AppID      string    `json:"app_id"`
		By         string    `json:"by"`
		At         time.Time `json:"at"`
	}
	MerchantAppUnbound struct {
		MerchantID string    `json:"merchant_id"`
		AppID      string    `json:"app_id"`
		By         string    `json:"by"`
		At         time.Time `json:"at"`
	}
)

// Merchant event types as stored.
const (
	TypeMerchantRegistered = "MerchantRegistered"
	TypeMerchantApproved   = "MerchantApproved"
	TypeMerchantRejected   = "MerchantRejected"
	TypeMerchantAppBound   = "MerchantAppBound"
	TypeMerchantAppUnbound = "MerchantAppUnbound"
)

// Merchant is the state of one merchant stream.
type Merchant struct {
	ID         string
	Status     MerchantStatus
	AccountID  string
	Name       string
	CreditCode string
	MCC        string
	Settlement SettlementAccount
	Apps       []string // bound app ids, in binding order
	DecidedBy  string
	Note       string // approval note or rejection reason
	CreatedAt  time.Time
	Version    int
}

// Apply folds one merchant event into the state.
func (m *Merchant) Apply(e Event) {
	switch e := e.(type) {
	case MerchantRegistered:
		m.ID, m.Status, m.AccountID, m.Name, m.CreditCode, m.MCC, m.Settlement = e.MerchantID, MerchantStatusPending,
			e.AccountID, e.Name, e.CreditCode, e.MCC, e.Settlement
		m.Apps, m.CreatedAt = []string{e.AppID}, e.At
	case MerchantApproved:
		m.Status, m.DecidedBy, m.Note = MerchantStatusApproved, e.By, e.Note
	case MerchantRejected:
		m.Status, m.DecidedBy, m.Note = MerchantStatusRejected, e.By, e.Reason
	case MerchantAppBound:
		m.Apps = append(m.Apps, e.AppID)
	case MerchantAppUnbound:
		m.Apps = slices.DeleteFunc(m.Apps, func(a string) bool { return a == e.AppID })
	}
	m.Version++
}

// Takes reports whether the merchant takes orders through app: nil, or
// merchant_not_found, merchant_not_approved, merchant_app_not_bound.
func (m *Merchant) Takes(app string) error {
	switch m.Status {
	case MerchantStatusNone:
		return NotFound(CodeMerchantNotFound, "no such merchant")
	case MerchantStatusApproved:
	default:
		return Conflict(CodeMerchantNotApproved, "the merchant is %s, not approved", m.Status)
	}
	if !slices.Contains(m.Apps, app) {
		return Conflict(CodeMerchantAppNotBound, "the merchant is not bound to this app")
	}
	return nil
}

// MerchantCommand is a command of the merchant aggregate.
type MerchantCommand interface {
	Command
	merchantCommand()
}

// Merchant commands.
type (
	RegisterMerchant MerchantRegistered
	ApproveMerchant  struct {
		By   string
		Note string
		At   time.Time
	}
	RejectMerchant struct {
		By     string
		Reason string
		At     time.Time
	}
	// BindMerchantApp binds another app; AppAccount is that app's account,
	// which must be the merchant's.
	BindMerchantApp struct {
		AppID      string
		AppAccount string
		By         string
		At         time.Time
	}
	UnbindMerchantApp struct {
		AppID string
		By    string
		At    time.Time
	}
)

// DecideMerchant turns a merchant command into events or a *Error.
func DecideMerchant(m *Merchant, cmd MerchantCommand) ([]Event, error) {
	switch c := cmd.(type) {
	case RegisterMerchant:
		if m.Status != MerchantStatusNone {
			return nil, Conflict(CodeMerchantExists, "merchant %s exists", m.ID)
		}
		if f := checkMerchant(c); len(f) > 0 {
			return nil, Invalid(f...)
		}
		return []Event{MerchantRegistered(c)}, nil
	case ApproveMerchant:
		if err := merchantDecidable(m); err != nil {
			return nil, err
		}
		return []Event{MerchantApproved{MerchantID: m.ID, By: c.By, Note: c.Note, At: c.At}}, nil
	case RejectMerchant:
		if err := merchantDecidable(m); err != nil {
			return nil, err
		}
		return []Event{MerchantRejected{MerchantID: m.ID, By: c.By, Reason: c.Reason, At: c.At}}, nil
	case BindMerchantApp:
		if m.Status == MerchantStatusNone {
			return nil, NotFound(CodeMerchantNotFound, "no such merchant")
		}
		if c.AppAccount != m.AccountID {
			return nil, NotFound(CodeAppNotFound, "no such app in the merchant's account")
		}
		if slices.Contains(m.Apps, c.AppID) {
			return nil, Conflict(CodeMerchantAppBound, "the app is bound already")
		}
		return []Event{MerchantAppBound{MerchantID: m.ID, AppID: c.AppID, By: c.By, At: c.At}}, nil
	case UnbindMerchantApp:
		if m.Status == MerchantStatusNone {
			return nil, NotFound(CodeMerchantNotFound, "no such merchant")
		}
		if !slices.Contains(m.Apps, c.AppID) {
			return nil, Conflict(CodeMerchantAppNotBound, "the app is not bound")
		}
		if len(m.Apps) == 1 {
			return nil, Conflict(CodeMerchantLastApp, "a merchant keeps at least one app")
		}
		return []Event{MerchantAppUnbound{MerchantID: m.ID, AppID: c.AppID, By: c.By, At: c.At}}, nil
	}
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: fmt.Sprintf("unknown merchant command %T", cmd)}
}

func checkMerchant(c RegisterMerchant) []FieldError {
	f := accountText(nil, "name", c.Name, 100)
	if err := ValidateCreditCode(c.CreditCode); err != nil {
		f = append(f, FieldError{Field: "credit_code", Code: CodeInvalidCreditCode, Message: err.Error()})
	}
	if !digits(c.MCC, 4, 4) {
		f = append(f, FieldError{Field: "mcc", Code: CodeInvalidMCC, Message: "a four-digit merchant category code"})
	}
	s := c.Settlement
	if !digits(s.BankCode, 3, 3) {
		f = append(f, FieldError{Field: "settlement.bank_code", Code: CodeInvalidSettlementAcc, Message: "three digits"})
	}
	if !digits(s.AccountNo, 8, 32) {
		f = append(f, FieldError{Field: "settlement.account_no", Code: CodeInvalidSettlementAcc, Message: "8 to 32 digits"})
	}
	f = accountText(f, "settlement.name", s.Name, 100)
	return f
}

func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func merchantDecidable(m *Merchant) error {
	switch m.Status {
	case MerchantStatusNone:
		return NotFound(CodeMerchantNotFound, "no such merchant")
	case MerchantStatusPending:
		return nil
	}
	return Conflict(CodeMerchantDecided, "the merchant was already %s by %s", m.Status, m.DecidedBy)
}

func (MerchantRegistered) EventType() string { return TypeMerchantRegistered }
func (MerchantApproved) EventType() string   { return TypeMerchantApproved }
func (MerchantRejected) EventType() string   { return TypeMerchantRejected }
func (MerchantAppBound) EventType() string   { return TypeMerchantAppBound }
func (MerchantAppUnbound) EventType() string { return TypeMerchantAppUnbound }

func (RegisterMerchant) merchantCommand()  {}
func (ApproveMerchant) merchantCommand()   {}
func (RejectMerchant) merchantCommand()    {}
func (BindMerchantApp) merchantCommand()   {}
func (UnbindMerchantApp) merchantCommand() {}

func (RegisterMerchant) CommandName() string  { return "register_merchant" }
func (ApproveMerchant) CommandName() string   { return "approve_merchant" }
func (RejectMerchant) CommandName() string    { return "reject_merchant" }
func (BindMerchantApp) CommandName() string   { return "bind_merchant_app" }
func (UnbindMerchantApp) CommandName() string { return "unbind_merchant_app" }

// merchantCodec declares the merchant family; every type is at version 1.
var merchantCodec = newCodec("merchant event",
	schema[MerchantRegistered](),
	schema[MerchantApproved](),
	schema[MerchantRejected](),
	schema[MerchantAppBound](),
	schema[MerchantAppUnbound](),
)

// Merchants is the payment merchant aggregate.
var Merchants = Aggregate[*Merchant, MerchantCommand]{
	Name:         "merchant",
	Stream:       MerchantStreamFor,
	New:          func(string) *Merchant { return &Merchant{} },
	Apply:        func(m *Merchant, e Event) error { m.Apply(e); return nil },
	Decide:       DecideMerchant,
	Encode:       merchantCodec.encode,
	DecodeStored: merchantCodec.decodeStored,
}
