package domain

// Erasure (个人信息删除): the person asked that their personal data be
// erased. The event itself carries no personal data. The personal fields of
// earlier events are unreadable from then on (the event store keeps them
// encrypted under a per-person key that erasure deletes) and read back as
// ErasedMarker; Apply puts the same marker into the state, so every fold of
// the stream — the aggregate, read models, a rebuild — shows the data as
// erased whether or not it could still decrypt the old events.
//
// The card's life goes on after an erasure: every command that worked
// before still works, on the state machine alone.

// ErasedMarker replaces every erased personal field.
const ErasedMarker = "[erased]"

// CardholderErased: the person's personal data was erased.
type CardholderErased struct {
	CardholderID string `json:"cardholder_id"`
}

func (CardholderErased) EventType() string { return "CardholderErased" }

// EraseCardholder erases the holder's personal data. Allowed once.
type EraseCardholder struct{}

func (EraseCardholder) CommandName() string { return "erase_cardholder" }

// CodeAlreadyErased: the holder's personal data is already erased (KindConflict).
const CodeAlreadyErased = "already_erased"

func decideErase(c *Cardholder) ([]Event, error) {
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	if c.Erased {
		return nil, Conflict(CodeAlreadyErased, "the personal data of cardholder %s is already erased", c.ID)
	}
	return one(CardholderErased{CardholderID: c.ID})
}

// applyErased marks every personal field the state holds as erased; fields
// that were empty stay empty so that "never given" stays distinguishable.
func (c *Cardholder) applyErased() {
	c.Erased = true
	for _, f := range []*string{&c.Profile.IDNumber, &c.Profile.Name, &c.Profile.BirthDate, &c.Profile.Phone, &c.Profile.Email} {
		erase(f)
	}
	if c.Card != nil {
		erase(&c.Card.PhotoRef)
	}
	for i := range c.PastCards {
		erase(&c.PastCards[i].PhotoRef)
	}
	if c.Photo != nil {
		p := *c.Photo // a copy: the event's value may be shared
		erase(&p.Ref)
		c.Photo = &p
	}
}

func erase(s *string) {
	if *s != "" {
		*s = ErasedMarker
	}
}
