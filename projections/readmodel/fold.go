package readmodel

import (
	"encoding/json"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// holderDoc is what the read model keeps per stream (cardholders.state):
// the domain's own state, so card statuses follow exactly the rules the
// aggregate applies, plus the event times the domain state does not keep.
type holderDoc struct {
	State        *domain.Cardholder   `json:"state"`
	Revision     uint64               `json:"revision"`
	RegisteredAt time.Time            `json:"registered_at,omitzero"`
	UpdatedAt    time.Time            `json:"updated_at"`
	Cards        map[string]cardTimes `json:"cards,omitempty"` // by application id
}

type cardTimes struct {
	AppliedAt   time.Time `json:"applied_at"`
	StatusSince time.Time `json:"status_since"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func newHolderDoc(stream string) *holderDoc {
	id, _ := domain.CardholderIDOfStream(stream)
	return &holderDoc{State: domain.NewCardholder(id), Cards: map[string]cardTimes{}}
}

func decodeHolderDoc(data []byte) (*holderDoc, error) {
	d := &holderDoc{}
	if err := json.Unmarshal(data, d); err != nil {
		return nil, err
	}
	if d.State == nil {
		d.State = &domain.Cardholder{}
	}
	if d.Cards == nil {
		d.Cards = map[string]cardTimes{}
	}
	return d, nil
}

// cards returns the holder's numbered and unnumbered cards, current last.
func (d *holderDoc) cards() []*domain.Card {
	out := make([]*domain.Card, 0, len(d.State.PastCards)+1)
	for i := range d.State.PastCards {
		out = append(out, &d.State.PastCards[i])
	}
	if d.State.Card != nil {
		out = append(out, d.State.Card)
	}
	return out
}

// listing is a card's blacklist entry; empty reason means not listed.
func listing(c *domain.Card) string {
	if c.CardNo == "" || !c.Status.Blacklisted() {
		return ""
	}
	if c.Status == domain.StatusCancelled && c.Cancellation != nil && c.Cancellation.Cause != "" {
		return string(c.Status) + ":" + string(c.Cancellation.Cause)
	}
	return string(c.Status)
}

// stepRow is one row of the steps table.
type stepRow struct {
	pos                           eventstore.Position
	stream, applicationID, cardNo string
	step                          string
	at                            time.Time
	from, to, handler, detail     string
}

// changeRow is one blacklist change.
type changeRow struct {
	seq    int64
	cardNo string
	op     string
	reason string
	at     time.Time
	pos    eventstore.Position
}

// listEntry is the final blacklist state of a card touched by a batch.
type listEntry struct {
	reason string // "" removes the card from the blacklist
	since  time.Time
	seq    int64
}

// fold applies one batch in memory and collects the rows to write.
type fold struct {
	docs    map[string]*holderDoc // by stream, loaded or new
	stored  map[string]bool       // streams that have rows already (loaded)
	dirty   map[string]bool       // streams changed by the batch
	steps   []stepRow
	changes []changeRow
	listed  map[string]listEntry // by card number
	// wasListed are the cards listed before the batch (so in the table):
	// only those need a DELETE when the batch unlists them.
	wasListed map[string]bool
	lastSeq   int64
}

func newFold(lastSeq int64) *fold {
	return &fold{docs: map[string]*holderDoc{}, stored: map[string]bool{}, dirty: map[string]bool{}, listed: map[string]listEntry{}, wasListed: map[string]bool{}, lastSeq: lastSeq}
}

// loaded records a stored stream's state as the batch starts.
func (f *fold) loaded(stream string, doc *holderDoc) {
	f.docs[stream] = doc
	f.stored[stream] = true
	for _, c := range doc.cards() {
		if listing(c) != "" {
			f.wasListed[c.CardNo] = true
		}
	}
}

// envelopeTime is the event's occurred-at from its metadata, or the time the
// store recorded it when the metadata has none.
func envelopeTime(ev eventstore.RecordedEvent) time.Time {
	var m struct {
		OccurredAt time.Time `json:"occurred_at"`
	}
	if len(ev.Metadata) > 0 && json.Unmarshal(ev.Metadata, &m) == nil && !m.OccurredAt.IsZero() {
		return m.OccurredAt.UTC()
	}
	return ev.RecordedAt.UTC()
}

// apply folds one decoded event of a stream whose doc is loaded.
func (f *fold) apply(ev eventstore.RecordedEvent, e domain.Event) {
	doc := f.docs[ev.Stream]
	if doc == nil {
		doc = newHolderDoc(ev.Stream)
		f.docs[ev.Stream] = doc
	}
	at := envelopeTime(ev)
	before := map[string]string{}
	statusBefore := map[string]domain.CardStatus{}
	for _, c := range doc.cards() {
		if r := listing(c); r != "" {
			before[c.CardNo] = r
		}
		statusBefore[c.ApplicationID] = c.Status
	}

	doc.State.Apply(e)
	doc.Revision = ev.Revision
	doc.UpdatedAt = at
	if _, ok := e.(domain.CardholderRegistered); ok && doc.RegisteredAt.IsZero() {
		doc.RegisteredAt = at
	}
	f.dirty[ev.Stream] = true

	touched := touchedCard(doc, e)
	if touched != nil {
		t, ok := doc.Cards[touched.ApplicationID]
		if !ok {
			t.AppliedAt, t.StatusSince = at, at
		}
		if s, ok := statusBefore[touched.ApplicationID]; ok && s != touched.Status {
			t.StatusSince = at
		}
		t.UpdatedAt = at
		doc.Cards[touched.ApplicationID] = t
		if step, ok := stepOf(e); ok {
			step.pos, step.stream, step.at = ev.Position, ev.Stream, at
			step.applicationID, step.cardNo = touched.ApplicationID, touched.CardNo
			f.steps = append(f.steps, step)
		}
	}

	// Blacklist: compare every card's listing before and after the event.
	// A change of reason for a listed card is an "add" (consumers upsert).
	after := map[string]string{}
	for _, c := range doc.cards() {
		if r := listing(c); r != "" {
			after[c.CardNo] = r
		}
	}
	for cardNo, r := range after {
		if before[cardNo] != r {
			f.change(cardNo, "add", r, at, ev.Position)
		}
	}
	for cardNo := range before {
		if _, still := after[cardNo]; !still {
			reason := ""
			for _, c := range doc.cards() {
				if c.CardNo == cardNo {
					reason = string(c.Status)
				}
			}
			f.change(cardNo, "remove", reason, at, ev.Position)
		}
	}
}

func (f *fold) change(cardNo, op, reason string, at time.Time, pos eventstore.Position) {
	f.lastSeq++
	f.changes = append(f.changes, changeRow{seq: f.lastSeq, cardNo: cardNo, op: op, reason: reason, at: at, pos: pos})
	if op == "add" {
		f.listed[cardNo] = listEntry{reason: reason, since: at, seq: f.lastSeq}
	} else {
		f.listed[cardNo] = listEntry{}
	}
}

// touchedCard is the card (current or past) an event refers to, after Apply.
func touchedCard(doc *holderDoc, e domain.Event) *domain.Card {
	appID, cardNo := eventRefs(e)
	for _, c := range doc.cards() {
		if (appID != "" && c.ApplicationID == appID) || (cardNo != "" && c.CardNo == cardNo) {
			return c
		}
	}
	return nil
}

// eventRefs names the application or card an event is about.
func eventRefs(e domain.Event) (applicationID, cardNo string) {
	switch e := e.(type) {
	case domain.CardApplied:
		return e.ApplicationID, ""
	case domain.BankAccountOpened:
		return e.ApplicationID, ""
	case domain.BankAccountRefused:
		return e.ApplicationID, ""
	case domain.CardNumberAssigned:
		return e.ApplicationID, e.CardNo
	case domain.CardProduced:
		return "", e.CardNo
	case domain.CardProductionFailed:
		return "", e.CardNo
	case domain.CardHandedOver:
		return "", e.CardNo
	case domain.CardIssued:
		return "", e.CardNo
	case domain.CardActivated:
		return "", e.CardNo
	case domain.CardReportedLost:
		return "", e.CardNo
	case domain.CardTemporarilyLost:
		return "", e.CardNo
	case domain.CardUnlocked:
		return "", e.CardNo
	case domain.CardCancelled:
		return "", e.CardNo
	case domain.CardCancellationRestored:
		return "", e.CardNo
	case domain.PINReset:
		return "", e.CardNo
	case domain.PINChanged:
		return "", e.CardNo
	case domain.CardholderTransferredOut:
		return "", e.CardNo
	case domain.ECardIssued:
		return "", e.CardNo
	case domain.ECardRevoked:
		return "", e.CardNo
	case domain.ECardCarriedOver:
		return e.ApplicationID, ""
	case domain.ECardChannelBound:
		return "", e.CardNo
	case domain.ECardChannelUnbound:
		return "", e.CardNo
	case domain.CardCancellationRequested:
		return "", e.CardNo
	case domain.PersonalDataCorrected:
		return e.ApplicationID, "" // a photo correction; "" for the others
	}
	return "", ""
}

// Production steps (制卡进度) in the order a card normally goes through them.
const (
	StepApplied          = "applied"
	StepAccountOpened    = "account_opened"
	StepAccountRefused   = "account_refused"
	StepNumberAssigned   = "number_assigned"
	StepProduced         = "produced"
	StepProductionFailed = "production_failed"
	StepHandedOver       = "handed_over"
	StepIssued           = "issued"
	StepActivated        = "activated"
)

// stepOf maps production and custody events to a step row (without its
// position, stream, time and card, which apply fills in).
func stepOf(e domain.Event) (stepRow, bool) {
	switch e := e.(type) {
	case domain.CardApplied:
		return stepRow{step: StepApplied, detail: string(e.Kind) + "/" + string(e.Source)}, true
	case domain.BankAccountOpened:
		return stepRow{step: StepAccountOpened, handler: e.BankCode}, true
	case domain.BankAccountRefused:
		return stepRow{step: StepAccountRefused, handler: e.BankCode, detail: e.Reason}, true
	case domain.CardNumberAssigned:
		return stepRow{step: StepNumberAssigned}, true
	case domain.CardProduced:
		return stepRow{step: StepProduced, handler: e.Vendor}, true
	case domain.CardProductionFailed:
		return stepRow{step: StepProductionFailed, detail: e.Reason}, true
	case domain.CardHandedOver:
		return stepRow{step: StepHandedOver, from: e.From, to: e.To, handler: e.Handler}, true
	case domain.CardIssued:
		return stepRow{step: StepIssued, handler: e.Agency}, true
	case domain.CardActivated:
		return stepRow{step: StepActivated}, true
	}
	return stepRow{}, false
}
