package domain

import (
	"slices"
	"time"
)

// The provincial card database (省持卡库, issue 16 item 2). The province
// keeps one record per card of every city in it; a card issued by one city
// is that city's until the province moves it (地市卡转移). Three rules of
// the cardholder follow from it:
//
//   - a person whose valid card was issued by another city cannot get a
//     first card here (RefuseHeldElsewhere, card_held_elsewhere): the card
//     is transferred in instead;
//   - transfer_in makes the province's record of that card the holder's
//     current card here (CardTransferredIn), the counterpart of
//     transfer_out;
//   - cancel_provincial_record (注销省厅卡信息) records that the
//     province dropped its record of one of this holder's cancelled cards
//     (ProvincialRecordCancelled).
//
// The province itself is a port of the application layer; the domain sees
// only what it answered, as values in the commands.

// ProvincialCard is the province's record of one card.
type ProvincialCard struct {
	CardNo string `json:"card_no"`
	// Region is the city (GB/T 2260) the card belongs to now.
	Region     string     `json:"region"`
	Status     CardStatus `json:"status"`
	IssuedOn   string     `json:"issued_on,omitempty"` // YYYY-MM-DD
	BankCode   string     `json:"bank_code,omitempty"`
	Generation Generation `json:"generation,omitempty"`
}

// Elsewhere reports whether the record is a valid card of another
// prefecture than region: the holder's card is in another city.
func (p ProvincialCard) Elsewhere(region string) bool {
	return IsValidCard(p.Status) && PrefectureOf(p.Region) != PrefectureOf(region)
}

// TransferIn takes the card the province records in another city as the
// holder's current card here (地市卡转移, inbound). Card is the province's
// record as it answered; the application layer has asked the province to
// move it before sending this.
type TransferIn struct {
	Card   ProvincialCard
	Reason string
}

// CancelProvincialRecord records that the province cancelled its record of
// one of the holder's cards (注销省厅卡信息).
type CancelProvincialRecord struct {
	CardNo string
	Reason string
}

func (TransferIn) CommandName() string             { return "transfer_in" }
func (TransferIn) cardholderCommand()              {}
func (CancelProvincialRecord) CommandName() string { return "cancel_provincial_record" }
func (CancelProvincialRecord) cardholderCommand()  {}

// CardTransferredIn: a card issued by another city became the holder's
// current card here. Status is the card's status as the province recorded
// it (issued or active).
type CardTransferredIn struct {
	CardNo     string     `json:"card_no"`
	FromRegion string     `json:"from_region"`
	ToRegion   string     `json:"to_region"`
	Status     CardStatus `json:"status"`
	IssuedOn   string     `json:"issued_on,omitempty"`
	ExpiresOn  string     `json:"expires_on,omitempty"`
	BankCode   string     `json:"bank_code,omitempty"`
	Generation Generation `json:"generation"`
	Reason     string     `json:"reason,omitempty"`
}

// ProvincialRecordCancelled: the province no longer records the card.
type ProvincialRecordCancelled struct {
	CardNo string `json:"card_no"`
	Reason string `json:"reason"`
}

func (CardTransferredIn) EventType() string         { return "CardTransferredIn" }
func (ProvincialRecordCancelled) EventType() string { return "ProvincialRecordCancelled" }

// SourceTransfer is the source of a card transferred in: it was applied
// for in another city. Commands cannot name it.
const SourceTransfer ApplicationSource = "transfer"

// TransferApplicationPrefix starts the application id of a card
// transferred in (there was no application here).
const TransferApplicationPrefix = "transfer-"

// Codes of the provincial card database.
const (
	// CodeCardHeldElsewhere: a first card is refused while the person holds
	// a valid card of another city; transfer it in instead.
	CodeCardHeldElsewhere = "card_held_elsewhere"
	// CodeNotTransferable: the province's record is not a card in the
	// holder's hands in another city (lost, cancelled, or already here).
	CodeNotTransferable = "card_not_transferable"
	// CodeProvincialRecordCancelled: the province's record of the card was
	// already cancelled.
	CodeProvincialRecordCancelled = "provincial_record_cancelled"
	// CodeCardStillValid: the province's record of a card valid here is
	// not cancelled; cancel the card first.
	CodeCardStillValid = "card_still_valid"
)

// RefuseHeldElsewhere is the first-issue rule: when c could start a new
// application (no valid card here) and the province records a valid card
// of the person in another city, the application is refused
// card_held_elsewhere. It refuses nothing else: a holder who cannot apply
// anyway gets the refusal of the command itself.
func RefuseHeldElsewhere(c *Cardholder, held []ProvincialCard) error {
	if !FirstIssueChecked(c) {
		return nil
	}
	for _, p := range held {
		if p.Elsewhere(c.Profile.RegionCode) && c.anyCard(p.CardNo) == nil {
			return Conflict(CodeCardHeldElsewhere, "cardholder %s holds card %s (%s) of region %s; transfer it in first",
				c.ID, p.CardNo, p.Status, p.Region)
		}
	}
	return nil
}

// FirstIssueChecked reports whether the first-issue rule applies to c: a
// registered, living holder whose personal data is not erased, with no
// valid card here (none yet, or the last one cancelled).
func FirstIssueChecked(c *Cardholder) bool {
	if !c.Registered || c.Deceased || c.Erased {
		return false
	}
	s := c.Status()
	return s == StatusNone || s == StatusCancelled
}

// anyCard returns the current or a past card numbered cardNo.
func (c *Cardholder) anyCard(cardNo string) *Card {
	if card := c.card(cardNo); card != nil {
		return card
	}
	for i := range c.PastCards {
		if cardNo != "" && c.PastCards[i].CardNo == cardNo {
			return &c.PastCards[i]
		}
	}
	return nil
}

func decideTransferIn(c *Cardholder, cmd TransferIn) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.Card.CardNo)
	f.regionCode("region", cmd.Card.Region)
	f.text("reason", cmd.Reason, maxTextLen)
	issuedOn, expiresOn := "", ""
	if cmd.Card.IssuedOn != "" {
		d, err := time.Parse(DateLayout, cmd.Card.IssuedOn)
		if err != nil {
			f.add("issued_on", CodeInvalidValue, "issue date %q is not a date YYYY-MM-DD", cmd.Card.IssuedOn)
		} else {
			issuedOn, expiresOn = d.Format(DateLayout), d.AddDate(ValidityYears, 0, 0).Format(DateLayout)
		}
	}
	if g := cmd.Card.Generation; g != "" && !g.Valid() {
		f.add("generation", CodeInvalidValue, "generation %q is not first, second or third", g)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	if c.Deceased {
		return nil, Conflict(CodeCardholderDeceased, "cardholder %s is recorded as deceased", c.ID)
	}
	if s := c.Status(); IsValidCard(s) {
		return nil, Conflict(CodeValidCardExists, "cardholder %s already has a %s card here", c.ID, s)
	}
	if PrefectureOf(cmd.Card.Region) == PrefectureOf(c.Profile.RegionCode) {
		return nil, Conflict(CodeSamePrefecture, "card %s is already recorded in the holder's prefecture %s", cmd.Card.CardNo, PrefectureOf(c.Profile.RegionCode))
	}
	if !in(cmd.Card.Status, StatusIssued, StatusActive) {
		return nil, Conflict(CodeNotTransferable, "card %s is %s in region %s; only an issued or active card moves", cmd.Card.CardNo, cmd.Card.Status, cmd.Card.Region)
	}
	return one(CardTransferredIn{
		CardNo: cmd.Card.CardNo, FromRegion: cmd.Card.Region, ToRegion: c.Profile.RegionCode, Status: cmd.Card.Status,
		IssuedOn: issuedOn, ExpiresOn: expiresOn, BankCode: cmd.Card.BankCode,
		Generation: cmd.Card.Generation.OrSecond(), Reason: cmd.Reason,
	})
}

func decideCancelProvincialRecord(c *Cardholder, cmd CancelProvincialRecord) ([]Event, error) {
	var f fieldErrors
	f.cardNo("card_no", cmd.CardNo)
	f.requiredText("reason", cmd.Reason, maxTextLen)
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	card := c.anyCard(cmd.CardNo)
	switch {
	case card == nil:
		return nil, NotFound(CodeCardNotFound, "card %s is not a card of cardholder %s", cmd.CardNo, c.ID)
	case card.ProvincialRecordCancelled:
		return nil, Conflict(CodeProvincialRecordCancelled, "the province's record of card %s was already cancelled", cmd.CardNo)
	case card.Status == StatusTransferred:
		return nil, Conflict(CodeTransferredOut, "card %s belongs to region %s now", cmd.CardNo, card.TransferredTo)
	case card.Status != StatusCancelled:
		return nil, Conflict(CodeCardStillValid, "card %s is %s here; cancel it first", cmd.CardNo, card.Status)
	}
	return one(ProvincialRecordCancelled{CardNo: cmd.CardNo, Reason: cmd.Reason})
}

// applyProvince folds the provincial events; it reports whether e was one.
func (c *Cardholder) applyProvince(e Event) bool {
	switch e := e.(type) {
	case CardTransferredIn:
		if c.Card != nil {
			c.PastCards = append(c.PastCards, *c.Card)
		}
		c.Card = &Card{
			ApplicationID: TransferApplicationPrefix + e.CardNo, Source: SourceTransfer, Kind: FirstIssue,
			CardNo: e.CardNo, Status: e.Status, BankCode: e.BankCode, IssuedOn: e.IssuedOn, ExpiresOn: e.ExpiresOn,
			Generation: e.Generation, Custody: Custody{At: CustodyHolder}, TransferredFrom: e.FromRegion,
		}
	case ProvincialRecordCancelled:
		if card := c.card(e.CardNo); card != nil {
			card.ProvincialRecordCancelled = true
		}
		// A new slice: states copied before (Decide's callers) keep theirs.
		c.PastCards = slices.Clone(c.PastCards)
		for i := range c.PastCards {
			if c.PastCards[i].CardNo == e.CardNo {
				c.PastCards[i].ProvincialRecordCancelled = true
			}
		}
	default:
		return false
	}
	return true
}
