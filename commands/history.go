package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// HistoryEvent is one stored event as the history endpoints show it.
type HistoryEvent struct {
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	Metadata   json.RawMessage `json:"metadata"`
	Revision   uint64          `json:"revision"`
	Position   string          `json:"position"`
	RecordedAt time.Time       `json:"recorded_at"`
}

// History reads event histories and past states straight from the event
// store, so they are exact and never behind (unlike projections).
type History struct {
	store   eventstore.Store
	numbers *CardNumbers
}

func NewHistory(store eventstore.Store, numbers *CardNumbers) (*History, error) {
	if store == nil || numbers == nil {
		return nil, errors.New("commands: history needs an event store and card numbers")
	}
	return &History{store: store, numbers: numbers}, nil
}

// Cardholder returns every event of the cardholder's stream in order and
// the stream's revision.
func (h *History) Cardholder(ctx context.Context, cardholderID string) ([]HistoryEvent, uint64, error) {
	recs, err := h.read(ctx, cardholderID)
	if err != nil {
		return nil, 0, err
	}
	out := make([]HistoryEvent, len(recs))
	for i, r := range recs {
		out[i] = historyEvent(r)
	}
	return out, recs[len(recs)-1].Revision, nil
}

// Card returns the events of one card, in stream order: those naming its
// number and those of the application it was assigned to (the application,
// its bank account). The revision is the holder's stream revision, the one
// If-Match on card commands refers to.
func (h *History) Card(ctx context.Context, cardNo string) ([]HistoryEvent, uint64, error) {
	holder, err := h.numbers.Resolve(ctx, cardNo)
	if err != nil {
		return nil, 0, err
	}
	recs, err := h.read(ctx, holder)
	if err != nil {
		return nil, 0, err
	}
	var application string
	for _, r := range recs {
		if r.Type != (domain.CardNumberAssigned{}).EventType() {
			continue
		}
		var e domain.CardNumberAssigned
		if json.Unmarshal(r.Data, &e) == nil && e.CardNo == cardNo {
			application = e.ApplicationID
		}
	}
	var out []HistoryEvent
	for _, r := range recs {
		var ref struct {
			CardNo        string `json:"card_no"`
			ApplicationID string `json:"application_id"`
		}
		if err := json.Unmarshal(r.Data, &ref); err != nil {
			return nil, 0, fmt.Errorf("card %s history: revision %d: %w", cardNo, r.Revision, err)
		}
		if ref.CardNo == cardNo || (application != "" && ref.ApplicationID == application) {
			out = append(out, historyEvent(r))
		}
	}
	if len(out) == 0 {
		return nil, 0, domain.NotFound(domain.CodeCardNotFound, "card %s was never assigned", cardNo)
	}
	return out, recs[len(recs)-1].Revision, nil
}

// StateAt rebuilds the cardholder from the events recorded at or before
// asOf (all of them when asOf is zero). It also returns the revision of the
// last event applied.
func (h *History) StateAt(ctx context.Context, cardholderID string, asOf time.Time) (*domain.Cardholder, uint64, error) {
	recs, err := h.read(ctx, cardholderID)
	if err != nil {
		return nil, 0, err
	}
	state := domain.NewCardholder(cardholderID)
	var rev uint64
	for _, r := range recs {
		if !asOf.IsZero() && r.RecordedAt.After(asOf) {
			break
		}
		e, err := domain.DecodeStoredEvent(r.Type, r.Data, r.Metadata)
		if err != nil {
			return nil, 0, fmt.Errorf("state of %s: revision %d: %w", cardholderID, r.Revision, err)
		}
		state.Apply(e)
		rev = r.Revision
	}
	if !state.Registered {
		return nil, 0, domain.NotFound(domain.CodeCardholderNotFound, "cardholder %s was not registered at %s", cardholderID, asOf.Format(time.RFC3339))
	}
	return state, rev, nil
}

func (h *History) read(ctx context.Context, cardholderID string) ([]eventstore.RecordedEvent, error) {
	if err := checkCardholderID(cardholderID); err != nil {
		return nil, err
	}
	recs, err := h.store.ReadStream(ctx, domain.StreamFor(cardholderID), 0, 0)
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(recs) == 0) {
		return nil, domain.NotFound(domain.CodeCardholderNotFound, "cardholder %s is not registered", cardholderID)
	}
	if err != nil {
		return nil, fmt.Errorf("history of %s: %w", cardholderID, err)
	}
	return recs, nil
}

func historyEvent(r eventstore.RecordedEvent) HistoryEvent {
	md := json.RawMessage(r.Metadata)
	if len(md) == 0 {
		md = json.RawMessage("{}")
	}
	return HistoryEvent{
		Type: r.Type, Data: json.RawMessage(r.Data), Metadata: md,
		Revision: r.Revision, Position: r.Position.String(), RecordedAt: r.RecordedAt.UTC(),
	}
}
