package commands

import (
	"time"

	"github.com/cardledger/cardledger/domain"
)

// StateView is the JSON form of a cardholder's state.
type StateView struct {
	CardholderID string `json:"cardholder_id"`
	Revision     uint64 `json:"revision"`
	Registered   bool   `json:"registered"`
	Deceased     bool   `json:"deceased"`
	// Erased: the holder's personal data was erased (it reads as [erased]).
	Erased bool `json:"erased,omitempty"`
	// MovedTo and MovedFrom link an ID-number change
	// (docs/id-number-change.md): the cardholder id the history goes on
	// under, and the one it came from.
	MovedTo     string      `json:"moved_to,omitempty"`
	MovedFrom   string      `json:"moved_from,omitempty"`
	Profile     ProfileView `json:"profile"`
	Card        *CardView   `json:"card"`
	PastCards   []CardView  `json:"past_cards"`
	ECardUsable bool        `json:"ecard_usable"`
	// ECardChannels are the channels the e-card is bound to, in binding order.
	ECardChannels []string `json:"ecard_channels,omitempty"`
	// Photo is the holder's current stored photo (GET …/photo serves it).
	Photo *domain.Photo `json:"photo,omitempty"`
	// NotificationOptOut is the media the holder refuses notifications by.
	NotificationOptOut NotificationOptOutView `json:"notification_opt_out"`
}

// NotificationOptOutView is the holder's opt-out per medium.
type NotificationOptOutView struct {
	SMS   bool `json:"sms"`
	Email bool `json:"email"`
}

type ProfileView struct {
	IDNumber      string     `json:"id_number"`
	Name          string     `json:"name"`
	Sex           domain.Sex `json:"sex"`
	BirthDate     string     `json:"birth_date"`
	Nationality   string     `json:"nationality"`
	RegionCode    string     `json:"region_code"`
	Phone         string     `json:"phone,omitempty"`
	Email         string     `json:"email,omitempty"`
	EmployerCode  string     `json:"employer_code,omitempty"`
	CommunityCode string     `json:"community_code,omitempty"`
}

type CardView struct {
	ApplicationID  string                   `json:"application_id"`
	Source         domain.ApplicationSource `json:"source"`
	Kind           domain.ApplicationKind   `json:"kind"`
	ReplacesCardNo string                   `json:"replaces_card_no,omitempty"`
	CardNo         string                   `json:"card_no,omitempty"`
	Status         domain.CardStatus        `json:"status"`
	BankCode       string                   `json:"bank_code,omitempty"`
	AccountNo      string                   `json:"account_no,omitempty"`
	ChipID         string                   `json:"chip_id,omitempty"`
	Vendor         string                   `json:"vendor,omitempty"`
	IssuedOn       string                   `json:"issued_on,omitempty"`
	ExpiresOn      string                   `json:"expires_on,omitempty"`
	Agency         string                   `json:"agency,omitempty"`
	CustodyAt      string                   `json:"custody_at,omitempty"`
	LastFailure    string                   `json:"last_failure,omitempty"`
	ECardIssued    bool                     `json:"ecard_issued"`
	BeforeLoss     domain.CardStatus        `json:"before_loss,omitempty"`
	CancelCause    domain.CancelCause       `json:"cancel_cause,omitempty"`
	TransferredTo  string                   `json:"transferred_to,omitempty"`

	// ECardRevokedCause is why the e-card was last revoked ("unrecorded"
	// for revocations stored before causes were).
	ECardRevokedCause domain.ECardRevocationCause `json:"ecard_revoked_cause,omitempty"`
	// CancellationRequestedBy is the channel through which the holder asked
	// for the card's cancellation, until the counter confirms it.
	CancellationRequestedBy string `json:"cancellation_requested_by,omitempty"`
	// Fee is a replacement's fee (工本费, docs/fees.md).
	Fee *FeeView `json:"fee,omitempty"`
}

// FeeView is a replacement's fee; Due while it holds the application.
type FeeView struct {
	AmountFen  int64               `json:"amount_fen"`
	Exemption  domain.FeeExemption `json:"exemption,omitempty"`
	AssessedOn string              `json:"assessed_on"`
	PaymentID  string              `json:"payment_id,omitempty"`
	PaidAt     *time.Time          `json:"paid_at,omitempty"`
	Due        bool                `json:"due"`
}

// NewStateView renders s at revision rev.
func NewStateView(s *domain.Cardholder, rev uint64) StateView {
	p := s.Profile
	v := StateView{
		CardholderID: s.ID, Revision: rev, Registered: s.Registered, Deceased: s.Deceased,
		Erased: s.Erased, MovedTo: s.MovedTo, MovedFrom: s.MovedFrom,
		Profile: ProfileView{
			IDNumber: p.IDNumber, Name: p.Name, Sex: p.Sex, BirthDate: p.BirthDate,
			Nationality: p.Nationality, RegionCode: p.RegionCode, Phone: p.Phone, Email: p.Email,
			EmployerCode: p.EmployerCode, CommunityCode: p.CommunityCode,
		},
		PastCards:          make([]CardView, 0, len(s.PastCards)),
		ECardUsable:        s.ECardUsable(),
		ECardChannels:      s.ECardChannels,
		Photo:              s.Photo,
		NotificationOptOut: NotificationOptOutView{SMS: s.NotifyOptOut.SMS, Email: s.NotifyOptOut.Email},
	}
	if s.Card != nil {
		c := cardView(*s.Card)
		v.Card = &c
	}
	for _, c := range s.PastCards {
		v.PastCards = append(v.PastCards, cardView(c))
	}
	return v
}

func cardView(c domain.Card) CardView {
	v := CardView{
		ApplicationID: c.ApplicationID, Source: c.Source, Kind: c.Kind, ReplacesCardNo: c.ReplacesCardNo,
		CardNo: c.CardNo, Status: c.Status, BankCode: c.BankCode, AccountNo: c.AccountNo,
		ChipID: c.ChipID, Vendor: c.Vendor, IssuedOn: c.IssuedOn, ExpiresOn: c.ExpiresOn,
		Agency: c.Agency, CustodyAt: c.Custody.At, LastFailure: c.LastFailure,
		ECardIssued: c.ECardIssued, BeforeLoss: c.BeforeLoss, TransferredTo: c.TransferredTo,
		ECardRevokedCause: c.ECardRevokedCause,
	}
	if c.Cancellation != nil {
		v.CancelCause = c.Cancellation.Cause
	}
	if c.PendingCancellation != nil {
		v.CancellationRequestedBy = c.PendingCancellation.Channel
	}
	if f := c.Fee; f != nil {
		v.Fee = &FeeView{AmountFen: f.AmountFen, Exemption: f.Exemption, AssessedOn: f.AssessedOn, PaymentID: f.PaymentID, Due: f.Due()}
		if !f.PaidAt.IsZero() {
			v.Fee.PaidAt = &f.PaidAt
		}
	}
	return v
}
