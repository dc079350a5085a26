package domain

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Integrator accounts of the open platform (开放平台账号): an organisation
// registers itself, an administrator approves or rejects it, and an
// approved account creates apps, each of a type (what it may call) serving
// channels. Each account is its own stream ("platform-account-<id>") and
// holds its apps, so the account's whole history (registration, decision,
// every app and credential change) stays together. Rules kept here:
//   - an organisation has one account, named by its unified social credit
//     code (the account id derives from it): it registers with a name, a
//     valid code and a contact, and again only after a rejection;
//   - it is decided once, approved or rejected;
//   - only an approved account creates and manages apps;
//   - an app has a known type, at least one known channel, positive quotas;
//     a revoked app changes no more.

// PlatformAccountStreamPrefix starts every account stream name.
const PlatformAccountStreamPrefix = "platform-account-"

// PlatformAccountStreamFor is the stream of account id.
func PlatformAccountStreamFor(id string) string { return PlatformAccountStreamPrefix + id }

// AccountStatus is where an account stands.
type AccountStatus string

const (
	AccountNone     AccountStatus = ""
	AccountPending  AccountStatus = "pending"
	AccountApproved AccountStatus = "approved"
	AccountRejected AccountStatus = "rejected"
)

// App types (应用类型): what an app may call (Route.AppTypes).
const (
	AppIdentityReading  = "identity_reading"  // 身份识读
	AppFinancialPayment = "financial_payment" // 金融支付
)

// AppTypes lists every app type.
func AppTypes() []string { return []string{AppIdentityReading, AppFinancialPayment} }

// Channels an app serves (渠道选择).
const (
	AppChannelCard        = "card"         // the physical card
	AppChannelECardQR     = "ecard_qr"     // e-card QR code
	AppChannelECardOnline = "ecard_online" // e-card online confirmation
)

// AppChannels lists every channel an app may serve.
func AppChannels() []string {
	return []string{AppChannelCard, AppChannelECardQR, AppChannelECardOnline}
}

// Quota bounds of an app (requests per minute and per day).
const (
	MaxAppPerMinute = 6000
	MaxAppPerDay    = 1_000_000
)

// Codes of refused account and app commands.
const (
	// CodeCreditCodeRegistered: an organisation's unified social credit
	// code has an account pending or approved already (one account per
	// organisation; a rejected one may register again).
	CodeCreditCodeRegistered = "credit_code_registered"     // KindConflict
	CodeAccountNotFound      = "platform_account_not_found" // KindNotFound
	CodeAccountDecided       = "platform_account_decided"   // KindConflict
	CodeAccountNotApproved   = "account_not_approved"       // KindConflict
	CodeAppNotFound          = "app_not_found"              // KindNotFound
	CodeAppExists            = "app_exists"                 // KindConflict
	CodeAppRevoked           = "app_revoked"                // KindConflict
	// Field codes.
	CodeInvalidAppType    = "invalid_app_type"
	CodeInvalidAppChannel = "invalid_app_channel"
	CodeInvalidQuota      = "invalid_quota"
	CodeInvalidPublicKey  = "invalid_public_key"
)

// AccountContact is who answers for an account.
type AccountContact struct {
	Name  string `json:"name"`
	Phone string `json:"phone"`
	Email string `json:"email,omitempty"`
}

// Account and app events.
type (
	PlatformAccountRegistered struct {
		AccountID  string         `json:"account_id"`
		Name       string         `json:"name"`
		CreditCode string         `json:"credit_code"`
		Contact    AccountContact `json:"contact"`
		At         time.Time      `json:"at"`
	}
	PlatformAccountApproved struct {
		AccountID  string    `json:"account_id"`
		ApprovedBy string    `json:"approved_by"`
		Note       string    `json:"note,omitempty"`
		At         time.Time `json:"at"`
	}
	PlatformAccountRejected struct {
		AccountID  string    `json:"account_id"`
		RejectedBy string    `json:"rejected_by"`
		Reason     string    `json:"reason,omitempty"`
		At         time.Time `json:"at"`
	}
	PlatformAppCreated struct {
		AccountID string    `json:"account_id"`
		AppID     string    `json:"app_id"`
		Name      string    `json:"name"`
		Type      string    `json:"type"`
		Channels  []string  `json:"channels"`
		PerMinute int       `json:"per_minute"`
		PerDay    int       `json:"per_day"`
		By        string    `json:"by"`
		At        time.Time `json:"at"`
	}
	PlatformAppSecretRotated struct {
		AccountID string    `json:"account_id"`
		AppID     string    `json:"app_id"`
		By        string    `json:"by"`
		At        time.Time `json:"at"`
	}
	// PlatformAppPublicKeyRegistered: from now on the app signs with the
	// private key of PublicKey (standard base64 of the raw 32-byte Ed25519
	// key); its HMAC secret or previous key stops working.
	PlatformAppPublicKeyRegistered struct {
		AccountID string    `json:"account_id"`
		AppID     string    `json:"app_id"`
		PublicKey string    `json:"public_key"`
		By        string    `json:"by"`
		At        time.Time `json:"at"`
	}
	// PlatformAppChannelsChanged: the account changed the channels the
	// app serves (渠道选择); Channels is the whole new list.
	PlatformAppChannelsChanged struct {
		AccountID string    `json:"account_id"`
		AppID     string    `json:"app_id"`
		Channels  []string  `json:"channels"`
		By        string    `json:"by"`
		At        time.Time `json:"at"`
	}
	// PlatformAppQuotasChanged: an administrator changed the app's quotas
	// (they are contractual: the account does not set its own after
	// creation).
	PlatformAppQuotasChanged struct {
		AccountID string    `json:"account_id"`
		AppID     string    `json:"app_id"`
		PerMinute int       `json:"per_minute"`
		PerDay    int       `json:"per_day"`
		By        string    `json:"by"`
		At        time.Time `json:"at"`
	}
	PlatformAppRevoked struct {
		AccountID string    `json:"account_id"`
		AppID     string    `json:"app_id"`
		By        string    `json:"by"`
		At        time.Time `json:"at"`
	}
)

// Account event types as stored.
const (
	TypePlatformAccountRegistered = "PlatformAccountRegistered"
	TypePlatformAccountApproved   = "PlatformAccountApproved"
	TypePlatformAccountRejected   = "PlatformAccountRejected"
	TypePlatformAppCreated        = "PlatformAppCreated"
	TypePlatformAppSecretRotated  = "PlatformAppSecretRotated"
	TypePlatformAppRevoked        = "PlatformAppRevoked"
	// TypePlatformAppPublicKeyRegistered is the event of an app's Ed25519 key.
	TypePlatformAppPublicKeyRegistered = "PlatformAppPublicKeyRegistered"
	TypePlatformAppChannelsChanged     = "PlatformAppChannelsChanged"
	TypePlatformAppQuotasChanged       = "PlatformAppQuotasChanged"
)

// PlatformApp is one app of an account.
type PlatformApp struct {
	ID        string
	Name      string
	Type      string
	Channels  []string
	PerMinute int
	PerDay    int
	Rotations int // secrets issued after the first
	// PublicKey is the app's registered Ed25519 key (standard base64), ""
	// while it signs with an HMAC secret.
	PublicKey string
	Revoked   bool
	CreatedAt time.Time
}

// PlatformAccount is the state of one account stream.
type PlatformAccount struct {
	ID         string
	Status     AccountStatus
	Name       string
	CreditCode string
	Contact    AccountContact
	DecidedBy  string
	Note       string // approval note or rejection reason
	Apps       []PlatformApp
	Version    int // events applied
}

// App returns the account's app id.
func (a *PlatformAccount) App(id string) (*PlatformApp, bool) {
	for i := range a.Apps {
		if a.Apps[i].ID == id {
			return &a.Apps[i], true
		}
	}
	return nil, false
}

// Apply folds one account event into the state.
func (a *PlatformAccount) Apply(e Event) {
	switch e := e.(type) {
	case PlatformAccountRegistered: // the first registration, or again after a rejection
		a.ID, a.Status, a.Name, a.CreditCode, a.Contact = e.AccountID, AccountPending, e.Name, e.CreditCode, e.Contact
		a.DecidedBy, a.Note = "", ""
	case PlatformAccountApproved:
		a.Status, a.DecidedBy, a.Note = AccountApproved, e.ApprovedBy, e.Note
	case PlatformAccountRejected:
		a.Status, a.DecidedBy, a.Note = AccountRejected, e.RejectedBy, e.Reason
	case PlatformAppCreated:
		a.Apps = append(a.Apps, PlatformApp{ID: e.AppID, Name: e.Name, Type: e.Type, Channels: slices.Clone(e.Channels),
			PerMinute: e.PerMinute, PerDay: e.PerDay, CreatedAt: e.At})
	case PlatformAppSecretRotated:
		if app, ok := a.App(e.AppID); ok {
			app.Rotations++
			app.PublicKey = ""
		}
	case PlatformAppPublicKeyRegistered:
		if app, ok := a.App(e.AppID); ok {
			app.PublicKey = e.PublicKey
		}
	case PlatformAppChannelsChanged:
		if app, ok := a.App(e.AppID); ok {
			app.Channels = slices.Clone(e.Channels)
		}
	case PlatformAppQuotasChanged:
		if app, ok := a.App(e.AppID); ok {
			app.PerMinute, app.PerDay = e.PerMinute, e.PerDay
		}
	case PlatformAppRevoked:
		if app, ok := a.App(e.AppID); ok {
			app.Revoked = true
		}
	}
	a.Version++
}

// PlatformAccountCommand is a command of the account aggregate.
type PlatformAccountCommand interface {
	Command
	platformAccountCommand()
}

// Account commands.
type (
	RegisterPlatformAccount PlatformAccountRegistered
	ApprovePlatformAccount  struct {
		By   string
		Note string
		At   time.Time
	}
	RejectPlatformAccount struct {
		By     string
		Reason string
		At     time.Time
	}
	CreatePlatformApp    PlatformAppCreated
	RotatePlatformAppKey PlatformAppSecretRotated
	RevokePlatformApp    PlatformAppRevoked
	// RegisterPlatformAppPublicKey carries the key as sent (base64 or
	// base64url, padded or not); the event holds it in standard base64.
	RegisterPlatformAppPublicKey PlatformAppPublicKeyRegistered
	// ChangePlatformAppChannels sets the app's channels; the same list
	// again (in any order) records nothing.
	ChangePlatformAppChannels PlatformAppChannelsChanged
	// ChangePlatformAppQuotas sets the app's quotas; the same quotas again
	// record nothing.
	ChangePlatformAppQuotas PlatformAppQuotasChanged
)

// DecidePlatformAccount turns an account command into events or a *Error.
func DecidePlatformAccount(a *PlatformAccount, cmd PlatformAccountCommand) ([]Event, error) {
	switch c := cmd.(type) {
	case RegisterPlatformAccount:
		if a.Status == AccountPending || a.Status == AccountApproved {
			return nil, Conflict(CodeCreditCodeRegistered, "the unified social credit code %s has an account (%s, %s)",
				a.CreditCode, a.ID, a.Status)
		}
		var f []FieldError
		f = accountText(f, "name", c.Name, 100)
		if err := ValidateCreditCode(c.CreditCode); err != nil {
			f = append(f, FieldError{Field: "credit_code", Code: CodeInvalidCreditCode, Message: err.Error()})
		}
		switch {
		case c.Contact == AccountContact{}:
			f = append(f, FieldError{Field: "contact", Code: CodeRequired, Message: "who answers for the account"})
		default:
			f = accountText(f, "contact.name", c.Contact.Name, 50)
			if !isMobile(c.Contact.Phone) {
				f = append(f, FieldError{Field: "contact.phone", Code: CodeInvalidPhone, Message: "phone must be 11 digits starting with 1"})
			}
		}
		if len(f) > 0 {
			return nil, Invalid(f...)
		}
		return []Event{PlatformAccountRegistered(c)}, nil
	case ApprovePlatformAccount:
		if err := accountDecidable(a); err != nil {
			return nil, err
		}
		return []Event{PlatformAccountApproved{AccountID: a.ID, ApprovedBy: c.By, Note: c.Note, At: c.At}}, nil
	case RejectPlatformAccount:
		if err := accountDecidable(a); err != nil {
			return nil, err
		}
		return []Event{PlatformAccountRejected{AccountID: a.ID, RejectedBy: c.By, Reason: c.Reason, At: c.At}}, nil
	case CreatePlatformApp:
		if err := accountActive(a); err != nil {
			return nil, err
		}
		if _, ok := a.App(c.AppID); ok {
			return nil, Conflict(CodeAppExists, "app %s exists", c.AppID)
		}
		if f := checkApp(c); len(f) > 0 {
			return nil, Invalid(f...)
		}
		c.AccountID = a.ID
		return []Event{PlatformAppCreated(c)}, nil
	case RotatePlatformAppKey:
		if _, err := liveApp(a, c.AppID); err != nil {
			return nil, err
		}
		c.AccountID = a.ID
		return []Event{PlatformAppSecretRotated(c)}, nil
	case RegisterPlatformAppPublicKey:
		if _, err := liveApp(a, c.AppID); err != nil {
			return nil, err
		}
		key, err := ParseEd25519PublicKey(c.PublicKey)
		if err != nil {
			return nil, Invalid(FieldError{Field: "public_key", Code: CodeInvalidPublicKey, Message: err.Error()})
		}
		c.AccountID, c.PublicKey = a.ID, base64.StdEncoding.EncodeToString(key)
		return []Event{PlatformAppPublicKeyRegistered(c)}, nil
	case ChangePlatformAppChannels:
		app, err := liveApp(a, c.AppID)
		if err != nil {
			return nil, err
		}
		if f := checkChannels(nil, c.Channels); len(f) > 0 {
			return nil, Invalid(f...)
		}
		if sameSet(app.Channels, c.Channels) {
			return nil, nil
		}
		c.AccountID = a.ID
		return []Event{PlatformAppChannelsChanged(c)}, nil
	case ChangePlatformAppQuotas:
		app, err := liveApp(a, c.AppID)
		if err != nil {
			return nil, err
		}
		if f := checkQuotas(nil, c.PerMinute, c.PerDay); len(f) > 0 {
			return nil, Invalid(f...)
		}
		if app.PerMinute == c.PerMinute && app.PerDay == c.PerDay {
			return nil, nil
		}
		c.AccountID = a.ID
		return []Event{PlatformAppQuotasChanged(c)}, nil
	case RevokePlatformApp:
		if _, err := liveApp(a, c.AppID); err != nil {
			return nil, err
		}
		c.AccountID = a.ID
		return []Event{PlatformAppRevoked(c)}, nil
	}
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: fmt.Sprintf("unknown account command %T", cmd)}
}

func accountText(f []FieldError, field, v string, max int) []FieldError {
	switch {
	case strings.TrimSpace(v) == "":
		return append(f, FieldError{Field: field, Code: CodeRequired, Message: "required"})
	case len([]rune(v)) > max:
		return append(f, FieldError{Field: field, Code: CodeTooLong, Message: fmt.Sprintf("at most %d characters", max)})
	}
	return f
}

func isMobile(s string) bool {
	if len(s) != 11 || s[0] != '1' {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func checkApp(c CreatePlatformApp) []FieldError {
	f := accountText(nil, "name", c.Name, 100)
	if !slices.Contains(AppTypes(), c.Type) {
		f = append(f, FieldError{Field: "type", Code: CodeInvalidAppType, Message: fmt.Sprintf("one of %v", AppTypes())})
	}
	f = checkChannels(f, c.Channels)
	return checkQuotas(f, c.PerMinute, c.PerDay)
}

func checkChannels(f []FieldError, channels []string) []FieldError {
	if len(channels) == 0 {
		f = append(f, FieldError{Field: "channels", Code: CodeRequired, Message: "at least one channel"})
	}
	seen := map[string]bool{}
	for _, ch := range channels {
		if !slices.Contains(AppChannels(), ch) || seen[ch] {
			f = append(f, FieldError{Field: "channels", Code: CodeInvalidAppChannel,
				Message: fmt.Sprintf("%q: each channel once, one of %v", ch, AppChannels())})
		}
		seen[ch] = true
	}
	return f
}

func checkQuotas(f []FieldError, perMinute, perDay int) []FieldError {
	if perMinute <= 0 || perMinute > MaxAppPerMinute {
		f = append(f, FieldError{Field: "per_minute", Code: CodeInvalidQuota, Message: fmt.Sprintf("1 to %d", MaxAppPerMinute)})
	}
	if perDay <= 0 || perDay > MaxAppPerDay || perDay < perMinute {
		f = append(f, FieldError{Field: "per_day", Code: CodeInvalidQuota,
			Message: fmt.Sprintf("1 to %d and at least per_minute", MaxAppPerDay)})
	}
	return f
}

// sameSet: a and b hold the same strings (each once), in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			return false
		}
	}
	return true
}

func accountDecidable(a *PlatformAccount) error {
	switch a.Status {
	case AccountNone:
		return NotFound(CodeAccountNotFound, "no such account")
	case AccountPending:
		return nil
	}
	return Conflict(CodeAccountDecided, "the account was already %s by %s", a.Status, a.DecidedBy)
}

func accountActive(a *PlatformAccount) error {
	switch a.Status {
	case AccountNone:
		return NotFound(CodeAccountNotFound, "no such account")
	case AccountApproved:
		return nil
	}
	return Conflict(CodeAccountNotApproved, "the account is %s, not approved", a.Status)
}

func liveApp(a *PlatformAccount, id string) (*PlatformApp, error) {
	if err := accountActive(a); err != nil {
		return nil, err
	}
	app, ok := a.App(id)
	if !ok {
		return nil, NotFound(CodeAppNotFound, "no such app")
	}
	if app.Revoked {
		return nil, Conflict(CodeAppRevoked, "the app is revoked")
	}
	return app, nil
}

func (PlatformAccountRegistered) EventType() string { return TypePlatformAccountRegistered }
func (PlatformAccountApproved) EventType() string   { return TypePlatformAccountApproved }
func (PlatformAccountRejected) EventType() string   { return TypePlatformAccountRejected }
func (PlatformAppCreated) EventType() string        { return TypePlatformAppCreated }
func (PlatformAppSecretRotated) EventType() string  { return TypePlatformAppSecretRotated }
func (PlatformAppRevoked) EventType() string        { return TypePlatformAppRevoked }
func (PlatformAppChannelsChanged) EventType() string {
	return TypePlatformAppChannelsChanged
}
func (PlatformAppQuotasChanged) EventType() string { return TypePlatformAppQuotasChanged }
func (PlatformAppPublicKeyRegistered) EventType() string {
	return TypePlatformAppPublicKeyRegistered
}

func (RegisterPlatformAccount) platformAccountCommand()      {}
func (ApprovePlatformAccount) platformAccountCommand()       {}
func (RejectPlatformAccount) platformAccountCommand()        {}
func (CreatePlatformApp) platformAccountCommand()            {}
func (RotatePlatformAppKey) platformAccountCommand()         {}
func (RevokePlatformApp) platformAccountCommand()            {}
func (RegisterPlatformAppPublicKey) platformAccountCommand() {}
func (ChangePlatformAppChannels) platformAccountCommand()    {}
func (ChangePlatformAppQuotas) platformAccountCommand()      {}

func (RegisterPlatformAccount) CommandName() string { return "register_platform_account" }
func (ApprovePlatformAccount) CommandName() string  { return "approve_platform_account" }
func (RejectPlatformAccount) CommandName() string   { return "reject_platform_account" }
func (CreatePlatformApp) CommandName() string       { return "create_platform_app" }
func (RotatePlatformAppKey) CommandName() string    { return "rotate_platform_app_key" }
func (RevokePlatformApp) CommandName() string       { return "revoke_platform_app" }
func (RegisterPlatformAppPublicKey) CommandName() string {
	return "register_platform_app_public_key"
}
func (ChangePlatformAppChannels) CommandName() string { return "change_platform_app_channels" }
func (ChangePlatformAppQuotas) CommandName() string   { return "change_platform_app_quotas" }

// platformAccountCodec declares the account family; every type is at version 1.
var platformAccountCodec = newCodec("platform account event",
	schema[PlatformAccountRegistered](),
	schema[PlatformAccountApproved](),
	schema[PlatformAccountRejected](),
	schema[PlatformAppCreated](),
	schema[PlatformAppSecretRotated](),
	schema[PlatformAppRevoked](),
	schema[PlatformAppPublicKeyRegistered](),
	schema[PlatformAppChannelsChanged](),
	schema[PlatformAppQuotasChanged](),
)

// PlatformAccounts is the integrator account aggregate.
var PlatformAccounts = Aggregate[*PlatformAccount, PlatformAccountCommand]{
	Name:         "platform account",
	Stream:       PlatformAccountStreamFor,
	New:          func(string) *PlatformAccount { return &PlatformAccount{} },
	Apply:        func(a *PlatformAccount, e Event) error { a.Apply(e); return nil },
	Decide:       DecidePlatformAccount,
	Encode:       platformAccountCodec.encode,
	DecodeStored: platformAccountCodec.decodeStored,
}
