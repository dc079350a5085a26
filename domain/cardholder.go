package domain

import "time"

// ValidityYears is how long a card is valid from its issue date.
const ValidityYears = 10

// DateLayout is how dates (not instants) are written in events and state.
const DateLayout = "2006-01-02"

// Cardholder is the state of one person's stream, rebuilt from events. Only
// Apply changes it; Decide reads it.
type Cardholder struct {
	ID         string
	Registered bool
	Profile    Profile
	// Card is the current card or application; nil before the first application.
	Card *Card
	// PastCards are the cards replaced or superseded by a later application, oldest first.
	PastCards []Card
	// Deceased is set by a cancellation with cause death and cleared by its restoration.
	Deceased bool
	// Erased is set once the person's personal data was erased (see erasure.go).
	Erased bool `json:",omitempty"`
	// ECardChannels are the channels the e-card is bound to, in binding
	// order. They belong to the holder, not to one card: a replacement
	// carries them over; the e-card's end (ECardRevoked) clears them.
	ECardChannels []string `json:",omitempty"`
	// Consents are the holder's consents to channels, one per channel,
	// expired ones included (ConsentAllows checks the expiry).
	Consents []Consent `json:",omitempty"`
	// Migration is set on a holder brought in from a legacy file (一代卡迁移).
	Migration *Migration `json:",omitempty"`
	// MovedFrom and MovedTo link the streams of an ID-number change
	// (correction_identity.go): the old stream's id, the new stream's id.
	MovedFrom string `json:",omitempty"`
	MovedTo   string `json:",omitempty"`
	// NotifyOptOut is the media the holder refuses notifications by
	// (notification.go).
	NotifyOptOut NotificationOptOut `json:",omitempty"`
	// Photo is the holder's current stored photo (photo.go); nil before one.
	Photo *Photo `json:",omitempty"`
	// Version is the number of events applied; the stream revision is Version-1.
	Version int
}

// Profile is the registration data.
type Profile struct {
	IDNumber    string
	Name        string
	Sex         Sex
	BirthDate   string // YYYY-MM-DD
	Nationality string
	RegionCode  string
	Phone       string
	// Email is the holder's e-mail address (实名邮箱), set by a correction.
	Email         string `json:",omitempty"`
	EmployerCode  string
	CommunityCode string
}

// Card is one application and the card that comes of it.
type Card struct {
	ApplicationID  string
	Source         ApplicationSource
	Kind           ApplicationKind
	ReplacesCardNo string
	PhotoRef       string
	// Generation is first for a migrated legacy card, else what the
	// application asked for; "" (every stored application before
	// generations) is second, see Generation.OrSecond.
	Generation Generation `json:",omitempty"`
	CardNo     string     // "" until assigned
	Status     CardStatus
	BankCode   string
	AccountNo  string // "" until the bank opens the account
	ChipID     string
	Vendor     string
	IssuedOn   string // YYYY-MM-DD
	ExpiresOn  string // YYYY-MM-DD
	Agency     string
	Custody    Custody
	// LastFailure is the reason of the latest bank refusal or production failure.
	LastFailure string
	// ECardIssued is whether the e-card for this card was issued and not revoked.
	ECardIssued bool
	// ECardRevokedCause is why the card's e-card was last revoked; cleared
	// when an e-card is issued again.
	ECardRevokedCause ECardRevocationCause `json:",omitempty"`
	// BeforeLoss is the status a formal or temporary loss returns to on unlock.
	BeforeLoss CardStatus
	// Cancellation is set while the card is cancelled.
	Cancellation *Cancellation
	// TransferredTo is the region the card moved to (status transferred).
	TransferredTo string
	// TransferredFrom is the city a card transferred in was issued by
	// (CardTransferredIn, province.go).
	TransferredFrom string `json:",omitempty"`
	// ProvincialRecordCancelled: the province no longer records the card
	// (注销省厅卡信息).
	ProvincialRecordCancelled bool `json:",omitempty"`
	// PendingCancellation is the holder's cancellation request through a
	// channel, until the card is cancelled.
	PendingCancellation *CancellationRequest `json:",omitempty"`
	// Fee is a replacement's fee (fee.go); nil for every other application
	// and for replacements made while no fee was charged.
	Fee *Fee `json:",omitempty"`
}

// Custody is where the physical card is and who last handed it over.
type Custody struct {
	At      string // who holds it: "vendor" after production, then outlets, "holder" once issued
	From    string // previous holder
	Handler string // who did the last handover
}

// Cancellation records why and from which status a card was cancelled.
type Cancellation struct {
	Cause  CancelCause
	From   CardStatus
	Reason string
}

// CustodyHolder is Custody.At once the card is issued.
const CustodyHolder = "holder"

// custodyAtVendor is Custody.At right after production, whoever the vendor
// is; it equals CustodyVendor of the batch aggregate, so batch handovers
// start "from vendor".
const custodyAtVendor = "vendor"

// NewCardholder is the empty state of the stream of cardholder id.
func NewCardholder(id string) *Cardholder { return &Cardholder{ID: id} }

// Replay rebuilds a cardholder from its events in stream order.
func Replay(id string, events []Event) *Cardholder {
	c := NewCardholder(id)
	for _, e := range events {
		c.Apply(e)
	}
	return c
}

// Status is the current card's status, StatusNone without a card.
func (c *Cardholder) Status() CardStatus {
	if c.Card == nil {
		return StatusNone
	}
	return c.Card.Status
}

// ECardUsable reports whether the e-card works now: it was issued and the
// physical card is issued or active. Loss, temporary loss, cancellation and
// transfer make it unusable without any e-card event; unlocking or restoring
// the card makes it usable again.
func (c *Cardholder) ECardUsable() bool {
	if c.Card == nil || !c.Card.ECardIssued {
		return false
	}
	return c.Card.Status == StatusIssued || c.Card.Status == StatusActive
}

// Apply changes the state by one event. It trusts the event (Decide checked
// the rules when it was written) and never fails; an event for a card other
// than the current one changes nothing but the version.
func (c *Cardholder) Apply(e Event) {
	c.Version++
	switch e := e.(type) {
	case CardholderRegistered:
		c.Registered = true
		if c.ID == "" {
			c.ID = e.CardholderID
		}
		c.Profile = Profile{
			IDNumber: e.IDNumber, Name: e.Name, Sex: e.Sex, BirthDate: e.BirthDate,
			Nationality: e.Nationality, RegionCode: e.RegionCode, Phone: e.Phone,
			EmployerCode: e.EmployerCode, CommunityCode: e.CommunityCode,
		}
	case CardholderErased:
		c.applyErased()
	case CardApplied:
		if c.Card != nil {
			c.PastCards = append(c.PastCards, *c.Card)
		}
		c.Card = &Card{
			ApplicationID: e.ApplicationID, Source: e.Source, Kind: e.Kind,
			ReplacesCardNo: e.ReplacesCardNo, PhotoRef: e.PhotoRef,
			BankCode: e.BankCode, Status: StatusApplied, Generation: e.Generation,
		}
	case BankAccountOpened:
		if card := c.application(e.ApplicationID); card != nil {
			card.BankCode = e.BankCode
			card.AccountNo = e.AccountNo
			card.LastFailure = ""
			card.Status = StatusAccountOpened
		}
	case BankAccountRefused:
		if card := c.application(e.ApplicationID); card != nil {
			card.BankCode = e.BankCode
			card.LastFailure = e.Reason
		}
	case CardNumberAssigned:
		if card := c.application(e.ApplicationID); card != nil {
			card.CardNo = e.CardNo
		}
	case CardProduced:
		if card := c.card(e.CardNo); card != nil {
			card.ChipID = e.ChipID
			card.Vendor = e.Vendor
			card.LastFailure = ""
			card.Status = StatusProduced
			card.Custody = Custody{At: custodyAtVendor}
		}
	case CardProductionFailed:
		if card := c.card(e.CardNo); card != nil {
			card.LastFailure = e.Reason
			card.Status = StatusApplied
		}
	case CardHandedOver:
		if card := c.card(e.CardNo); card != nil {
			card.Custody = Custody{At: e.To, From: e.From, Handler: e.Handler}
		}
	case CardIssued:
		if card := c.card(e.CardNo); card != nil {
			card.IssuedOn = e.IssuedOn
			card.ExpiresOn = e.ExpiresOn
			card.Agency = e.Agency
			card.Custody = Custody{At: CustodyHolder, From: card.Custody.At, Handler: e.Agency}
			card.Status = StatusIssued
		}
	case CardActivated:
		if card := c.card(e.CardNo); card != nil {
			card.Status = StatusActive
		}
	case CardReportedLost:
		if card := c.card(e.CardNo); card != nil {
			if card.Status != StatusTemporarilyLost {
				card.BeforeLoss = card.Status
			}
			card.Status = StatusLost
		}
	case CardTemporarilyLost:
		if card := c.card(e.CardNo); card != nil {
			card.BeforeLoss = card.Status
			card.Status = StatusTemporarilyLost
		}
	case CardUnlocked:
		if card := c.card(e.CardNo); card != nil {
			card.Status = card.BeforeLoss
			card.BeforeLoss = StatusNone
		}
	case CardCancelled:
		if card := c.card(e.CardNo); card != nil {
			card.Cancellation = &Cancellation{Cause: e.Cause, From: e.From, Reason: e.Reason}
			card.PendingCancellation = nil
			card.Status = StatusCancelled
			if e.Cause == CauseDeath {
				c.Deceased = true
			}
		}
	case CardCancellationRestored:
		if card := c.card(e.CardNo); card != nil {
			if card.Cancellation != nil && card.Cancellation.Cause == CauseDeath {
				c.Deceased = false
			}
			card.Cancellation = nil
			card.Status = e.To
		}
	case PINReset, PINChanged:
		// Facts for the audit trail; no state.
	case CardholderTransferredOut:
		if card := c.card(e.CardNo); card != nil {
			card.TransferredTo = e.ToRegion
			card.Status = StatusTransferred
		}
	case ECardIssued:
		if card := c.card(e.CardNo); card != nil {
			card.ECardIssued = true
			card.ECardRevokedCause = ""
			c.ECardChannels = nil
			if e.Channel != "" {
				c.ECardChannels = []string{e.Channel}
			}
		}
	case ECardRevoked:
		if card := c.card(e.CardNo); card != nil {
			card.ECardIssued = false
			card.ECardRevokedCause = e.Cause
			c.ECardChannels = nil
		}
	case PersonalDataCorrected:
		c.applyCorrection(e)
	case NotificationPreferencesSet:
		c.NotifyOptOut = NotificationOptOut{SMS: e.SMSOptOut, Email: e.EmailOptOut}
	case PhotoCollected:
		p := e.Photo
		c.Photo = &p
	case IdentityMovedOut, IdentityMovedIn:
		c.applyIdentityMove(e)
	default:
		if !c.applyLegacy(e) && !c.applyProvince(e) && !c.applyFee(e) {
			c.applyECardChannel(e)
		}
	}
}

// application returns the current card if it belongs to application id.
func (c *Cardholder) application(id string) *Card {
	if c.Card == nil || c.Card.ApplicationID != id {
		return nil
	}
	return c.Card
}

// card returns the current card if its number is cardNo.
func (c *Cardholder) card(cardNo string) *Card {
	if c.Card == nil || cardNo == "" || c.Card.CardNo != cardNo {
		return nil
	}
	return c.Card
}

// issueDates computes IssuedOn and ExpiresOn for an issue at t.
func issueDates(t time.Time) (issuedOn, expiresOn string) {
	d := civilDate(t)
	return d.Format(DateLayout), d.AddDate(ValidityYears, 0, 0).Format(DateLayout)
}
