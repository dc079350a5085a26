package deliveries

import (
	"encoding/json"
	"fmt"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// Personal data in deliveries (docs/deliveries.md, "Personal data"): each
// party gets what its own records need, nothing more.
//
//   - A bank's subscription (one with a bank) never gets CardholderRegistered
//     (it cannot name it: CodeNotForBankSubscriptions). It learns a holder's
//     identity with its own card's application only: CardApplied at its bank
//     carries "holder" (ID number, name, sex, birth date, nationality), what
//     opening the card's account needs; an application naming no bank or
//     another one does not.
//   - Every other subscription (the province's) gets CardholderRegistered's
//     identity (the provincial database keys by ID number), not the phone.
//   - No delivery carries a photo reference or a phone number.

// CodeNotForBankSubscriptions is the field code refusing CardholderRegistered
// in a bank's subscription.
const CodeNotForBankSubscriptions = "not_for_bank_subscriptions"

// notForBanks are the event types a bank's subscription cannot name.
var notForBanks = []string{"CardholderRegistered"}

// withheld are the personal fields no delivery carries, by event type.
var withheld = map[string][]string{
	"CardholderRegistered": {"phone"},
	"CardApplied":          {"photo_ref"},
}

// Holder is the identity a bank's CardApplied delivery carries.
type Holder struct {
	IDNumber    string     `json:"id_number"`
	Name        string     `json:"name"`
	Sex         domain.Sex `json:"sex"`
	BirthDate   string     `json:"birth_date"`
	Nationality string     `json:"nationality"`
}

// deliveredData is ev's data as subscription s may receive it; h is the
// holder as of ev (nil when s has no region or bank: it was not needed
// to match).
func deliveredData(s Subscription, ev eventstore.RecordedEvent, h *domain.Cardholder) (json.RawMessage, error) {
	drop := withheld[ev.Type]
	// Only an application at the subscription's bank: one without a bank
	// reaches the bank of the holder's past card (worker.go, bankOf), which
	// opens no account for it.
	addHolder := s.Bank != "" && ev.Type == "CardApplied" && h != nil && h.Card != nil && h.Card.BankCode == s.Bank
	if len(drop) == 0 && !addHolder {
		return json.RawMessage(ev.Data), nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(ev.Data, &fields); err != nil {
		return nil, fmt.Errorf("deliveries: decode %s %s: %w", ev.Type, ev.ID, err)
	}
	for _, f := range drop {
		delete(fields, f)
	}
	if addHolder {
		p := h.Profile
		b, err := json.Marshal(Holder{IDNumber: p.IDNumber, Name: p.Name, Sex: p.Sex, BirthDate: p.BirthDate, Nationality: p.Nationality})
		if err != nil {
			return nil, err
		}
		fields["holder"] = b
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("deliveries: encode %s %s: %w", ev.Type, ev.ID, err)
	}
	return out, nil
}
