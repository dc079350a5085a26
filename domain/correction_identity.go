package domain

// ID-number change (身份证号码变更). The cardholder id, and so the stream,
// derives from the ID number (CardholderIDFor), so a new number is a new
// stream. The two are linked both ways and the card moves as a
// replacement (docs/id-number-change.md):
//
//   - move_identity on the old stream: the current card, if one is in the
//     holder's hands, is cancelled with cause replacement, then
//     IdentityMovedOut names the new stream. From then on the old stream
//     refuses every command but erasure (identity_moved).
//   - register_moved_identity on the new stream: IdentityMovedIn names the
//     old stream (the new stream's first event), then CardholderRegistered
//     with the new number, then — when a card was replaced — CardApplied of
//     kind replacement with ReplacesCardNo the old card's number.
//
// Neither event carries personal data: the old stream learns the new
// cardholder id (an HMAC of the number), never the number itself.

// IdentityMovedOut: the holder's ID number changed; the history goes on in
// stream ToCardholderID. ReplacedCardNo is the card cancelled for it, "" if
// none was in the holder's hands.
type IdentityMovedOut struct {
	ToCardholderID string `json:"to_cardholder_id"`
	ReplacedCardNo string `json:"replaced_card_no,omitempty"`
	Reason         string `json:"reason"`
}

// IdentityMovedIn: first event of the stream of a changed ID number; the
// history before it is in stream FromCardholderID.
type IdentityMovedIn struct {
	FromCardholderID string `json:"from_cardholder_id"`
	ReplacesCardNo   string `json:"replaces_card_no,omitempty"`
	Reason           string `json:"reason"`
}

func (IdentityMovedOut) EventType() string { return "IdentityMovedOut" }
func (IdentityMovedIn) EventType() string  { return "IdentityMovedIn" }

// MoveIdentity closes the old stream of a holder whose ID number changed.
// NewCardholderID is CardholderIDFor the new number (the caller holds the key).
type MoveIdentity struct {
	NewCardholderID string
	Reason          string
}

// RegisterMovedIdentity opens the stream of the new ID number: Register is
// the registration under the new number (the caller carries the profile
// over), FromCardholderID the old stream, ReplacesCardNo the card
// IdentityMovedOut cancelled ("" if none) and ApplicationID the id of its
// replacement's application.
type RegisterMovedIdentity struct {
	Register         RegisterCardholder
	FromCardholderID string
	ReplacesCardNo   string
	ApplicationID    string
	Reason           string
}

func (MoveIdentity) CommandName() string          { return "move_identity" }
func (RegisterMovedIdentity) CommandName() string { return "register_moved_identity" }
func (MoveIdentity) cardholderCommand()           {}
func (RegisterMovedIdentity) cardholderCommand()  {}

// CodeIdentityMoved: the holder's ID number changed; their history goes on
// in another stream (KindConflict).
const CodeIdentityMoved = "identity_moved"

// refuseMoved refuses every command on a moved-out stream but erasure (the
// person's data in the old stream is still theirs to have erased).
func refuseMoved(c *Cardholder, cmd CardholderCommand) error {
	if c.MovedTo == "" {
		return nil
	}
	if _, ok := cmd.(EraseCardholder); ok {
		return nil
	}
	return Conflict(CodeIdentityMoved, "the ID number of cardholder %s changed; the history goes on in cardholder %s", c.ID, c.MovedTo)
}

func decideMoveIdentity(c *Cardholder, cmd MoveIdentity) ([]Event, error) {
	var f fieldErrors
	if f.requiredRef("new_cardholder_id", cmd.NewCardholderID); cmd.NewCardholderID != "" && cmd.NewCardholderID == c.ID {
		f.add("new_cardholder_id", CodeMismatch, "the new identity must be another stream")
	}
	f.requiredText("reason", cmd.Reason, maxTextLen)
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := requireRegistered(c); err != nil {
		return nil, err
	}
	var out []Event
	moved := IdentityMovedOut{ToCardholderID: cmd.NewCardholderID, Reason: cmd.Reason}
	if card := c.Card; card != nil {
		switch {
		case card.Status == StatusTransferred:
			return nil, Conflict(CodeTransferredOut, "the card of cardholder %s was transferred to %s", c.ID, card.TransferredTo)
		case in(card.Status, cancellable()...):
			out = append(out, CardCancelled{CardNo: card.CardNo, Cause: CauseReplacement, From: card.Status, Reason: cmd.Reason})
			out = append(out, ecardEndsWith(card, ECardCauseCardCancelled)...)
			moved.ReplacedCardNo = card.CardNo
		case IsValidCard(card.Status):
			// An application in production: its card would print the old
			// number. Fail or finish it first.
			return nil, InvalidTransition(card.Status, cmd.CommandName())
		}
	}
	return append(out, moved), nil
}

func decideRegisterMovedIdentity(c *Cardholder, cmd RegisterMovedIdentity) ([]Event, error) {
	var f fieldErrors
	f.requiredRef("from_cardholder_id", cmd.FromCardholderID)
	if cmd.FromCardholderID != "" && cmd.FromCardholderID == cmd.Register.CardholderID {
		f.add("from_cardholder_id", CodeMismatch, "the old identity must be another stream")
	}
	f.requiredText("reason", cmd.Reason, maxTextLen)
	if cmd.ReplacesCardNo != "" {
		f.cardNo("replaces_card_no", cmd.ReplacesCardNo)
		f.requiredRef("application_id", cmd.ApplicationID)
	}
	ferr := f.err()
	registered, err := decideRegister(c, cmd.Register)
	if ferr != nil {
		if e, ok := AsError(err); ok && e.Kind == KindInvalid {
			return nil, Invalid(append(f, e.Fields...)...)
		}
		return nil, ferr
	}
	if err != nil {
		return nil, err
	}
	out := append([]Event{IdentityMovedIn{FromCardholderID: cmd.FromCardholderID, ReplacesCardNo: cmd.ReplacesCardNo, Reason: cmd.Reason}},
		registered...)
	if cmd.ReplacesCardNo != "" {
		applied := CardApplied{ApplicationID: cmd.ApplicationID, Source: SourceCounter, Kind: Replacement,
			ReplacesCardNo: cmd.ReplacesCardNo}
		if cmd.Register.Photo != nil { // the photo carried over (PhotoCollected above)
			applied.PhotoRef = cmd.Register.Photo.Ref
		}
		out = append(out, applied)
	}
	return out, nil
}

// applyIdentityMove folds the two link events.
func (c *Cardholder) applyIdentityMove(e Event) {
	switch e := e.(type) {
	case IdentityMovedOut:
		c.MovedTo = e.ToCardholderID
	case IdentityMovedIn:
		c.MovedFrom = e.FromCardholderID
	}
}
