package domain

// Events of the cardholder aggregate. Each is a plain struct; its type name
// (EventType) and schema version are part of the stored contract: never
// rename a type or change a field's meaning, add a new version instead —
// keep the old shape as an unexported struct and add an upcaster to the
// type's schema in codec.go (which says how, step by step).
// Times and dates that belong to the fact are in the payload; when the event
// was recorded is in the envelope (Metadata.OccurredAt).

// Event is implemented by every event payload.
type Event interface {
	EventType() string
}

// CardholderRegistered: a person is known to the card system (一人一号).
type CardholderRegistered struct {
	CardholderID  string `json:"cardholder_id"`
	IDNumber      string `json:"id_number"`
	Name          string `json:"name"`
	Sex           Sex    `json:"sex"`
	BirthDate     string `json:"birth_date"` // YYYY-MM-DD, consistent with IDNumber
	Nationality   string `json:"nationality"`
	RegionCode    string `json:"region_code"` // GB/T 2260, 6 digits
	Phone         string `json:"phone,omitempty"`
	EmployerCode  string `json:"employer_code,omitempty"`
	CommunityCode string `json:"community_code,omitempty"`
}

// CardApplied: an application for a card (申领), first issue or replacement.
type CardApplied struct {
	ApplicationID  string            `json:"application_id"`
	Source         ApplicationSource `json:"source"`
	Kind           ApplicationKind   `json:"kind"`
	BankCode       string            `json:"bank_code,omitempty"`
	PhotoRef       string            `json:"photo_ref,omitempty"`
	ReplacesCardNo string            `json:"replaces_card_no,omitempty"`
	// Channel is the e-card channel the holder applied through
	// (apply_through_channel); "" for every other source.
	Channel string `json:"channel,omitempty"`
	// Generation is the generation applied for; "" (every application
	// stored before generations, and every one that did not say) is second.
	Generation Generation `json:"generation,omitempty"`
}

// BankAccountOpened: the bank opened the account the card is linked to (预开户).
type BankAccountOpened struct {
	ApplicationID string `json:"application_id"`
	BankCode      string `json:"bank_code"`
	AccountNo     string `json:"account_no"`
}

// BankAccountRefused: the bank refused to open the account; the application
// stays pending with the reason visible.
type BankAccountRefused struct {
	ApplicationID string `json:"application_id"`
	BankCode      string `json:"bank_code"`
	Reason        string `json:"reason"`
}

// CardNumberAssigned: the system-wide unique card number (社会保障卡卡号).
type CardNumberAssigned struct {
	ApplicationID string `json:"application_id"`
	CardNo        string `json:"card_no"`
}

// CardProduced: the vendor personalised the chip (制卡成功).
type CardProduced struct {
	CardNo string `json:"card_no"`
	ChipID string `json:"chip_id"` // card identification code, 32 hex digits
	Vendor string `json:"vendor,omitempty"`
}

// CardProductionFailed: production failed (制卡失败); the application goes back
// to pending with the reason visible and the card number kept for the retry.
type CardProductionFailed struct {
	CardNo string `json:"card_no"`
	Reason string `json:"reason"`
}

// CardHandedOver: custody of the physical card moved (卡片交接).
type CardHandedOver struct {
	CardNo  string `json:"card_no"`
	From    string `json:"from"`
	To      string `json:"to"`
	Handler string `json:"handler"`
}

// CardIssued: the card was given to its holder (发放).
type CardIssued struct {
	CardNo    string `json:"card_no"`
	IssuedOn  string `json:"issued_on"`  // YYYY-MM-DD
	ExpiresOn string `json:"expires_on"` // YYYY-MM-DD
	Agency    string `json:"agency,omitempty"`
}

// CardActivated: the card's social-security functions were enabled (启用).
type CardActivated struct {
	CardNo string `json:"card_no"`
}

// CardReportedLost: formal loss (正式挂失).
type CardReportedLost struct {
	CardNo string `json:"card_no"`
	Reason string `json:"reason,omitempty"`
}

// CardTemporarilyLost: temporary loss (临时挂失).
type CardTemporarilyLost struct {
	CardNo string `json:"card_no"`
	Reason string `json:"reason,omitempty"`
}

// CardUnlocked: a formal or temporary loss was lifted (解挂).
type CardUnlocked struct {
	CardNo string     `json:"card_no"`
	Lifted CardStatus `json:"lifted"` // lost or temporarily_lost
	Reason string     `json:"reason,omitempty"`
}

// CardCancelled: the card is invalid (注销).
type CardCancelled struct {
	CardNo string      `json:"card_no"`
	Cause  CancelCause `json:"cause"`
	From   CardStatus  `json:"from"` // status before cancellation, restored by CardCancellationRestored
	Reason string      `json:"reason,omitempty"`
}

// CardCancellationRestored: a cancellation was undone (注销还原).
type CardCancellationRestored struct {
	CardNo string     `json:"card_no"`
	To     CardStatus `json:"to"`
	Reason string     `json:"reason,omitempty"`
}

// PINReset and PINChanged record that a PIN event happened; never a PIN value.
type PINReset struct {
	CardNo string `json:"card_no"`
}

type PINChanged struct {
	CardNo string `json:"card_no"`
}

// CardholderTransferredOut: the person's card moved to another city (地市卡转移).
type CardholderTransferredOut struct {
	CardNo     string `json:"card_no,omitempty"`
	FromRegion string `json:"from_region"`
	ToRegion   string `json:"to_region"`
	Reason     string `json:"reason,omitempty"`
}

// ECardIssued and ECardRevoked: the electronic twin (电子社保卡). The e-card is
// unusable whenever the physical card is lost, temporarily lost or cancelled;
// that is derived from the card status, not recorded as extra events.
// ECardIssued.Channel is the channel it was issued through (签发), now its
// first binding; "" means issued at the counter, with no channel, as every
// ECardIssued stored before channels existed was.
type ECardIssued struct {
	CardNo  string `json:"card_no"`
	Channel string `json:"channel,omitempty"`
}

// ECardRevoked is at schema version 2: Cause says why the e-card was
// revoked as a closed value, as CardCancelled's Cause does for the card;
// Reason is the free-text note. Version 1 had only Reason, so the read side
// could not tell a holder's request from suspected misuse without parsing
// prose, and analytics could not count revocations by why.
type ECardRevoked struct {
	CardNo string               `json:"card_no"`
	Cause  ECardRevocationCause `json:"cause"`
	Reason string               `json:"reason,omitempty"`
}

// eCardRevokedV1 is ECardRevoked as stored at schema version 1.
type eCardRevokedV1 struct {
	CardNo string `json:"card_no"`
	Reason string `json:"reason,omitempty"`
}

// toV2 keeps the note and records the cause as unrecorded: a version 1
// event never said why, and guessing from the note would invent a fact.
func (e eCardRevokedV1) toV2() ECardRevoked {
	return ECardRevoked{CardNo: e.CardNo, Cause: ECardCauseUnrecorded, Reason: e.Reason}
}

func (CardholderRegistered) EventType() string     { return "CardholderRegistered" }
func (CardApplied) EventType() string              { return "CardApplied" }
func (BankAccountOpened) EventType() string        { return "BankAccountOpened" }
func (BankAccountRefused) EventType() string       { return "BankAccountRefused" }
func (CardNumberAssigned) EventType() string       { return "CardNumberAssigned" }
func (CardProduced) EventType() string             { return "CardProduced" }
func (CardProductionFailed) EventType() string     { return "CardProductionFailed" }
func (CardHandedOver) EventType() string           { return "CardHandedOver" }
func (CardIssued) EventType() string               { return "CardIssued" }
func (CardActivated) EventType() string            { return "CardActivated" }
func (CardReportedLost) EventType() string         { return "CardReportedLost" }
func (CardTemporarilyLost) EventType() string      { return "CardTemporarilyLost" }
func (CardUnlocked) EventType() string             { return "CardUnlocked" }
func (CardCancelled) EventType() string            { return "CardCancelled" }
func (CardCancellationRestored) EventType() string { return "CardCancellationRestored" }
func (PINReset) EventType() string                 { return "PINReset" }
func (PINChanged) EventType() string               { return "PINChanged" }
func (CardholderTransferredOut) EventType() string { return "CardholderTransferredOut" }
func (ECardIssued) EventType() string              { return "ECardIssued" }
func (ECardRevoked) EventType() string             { return "ECardRevoked" }
