package commands

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// CardNumberReservedType is the one event type of card-number streams. It
// is an application-level fact (not part of the cardholder aggregate):
// projections that do not know it skip it.
const CardNumberReservedType = "CardNumberReserved"

// CardNumberReserved claims a card number for a cardholder, as the first
// and only event of the stream CardNumberStream(card_no).
type CardNumberReserved struct {
	CardNo       string `json:"card_no"`
	CardholderID string `json:"cardholder_id"`
}

func (CardNumberReserved) EventType() string { return CardNumberReservedType }

// SchemaVersion is 1: the domain codecs do not know the type (OwnVersion).
func (CardNumberReserved) SchemaVersion() int { return 1 }

// reserve appends the reservation of cardNo for cardholderID, expecting no
// stream. The holder is part of the event id: the same command id
// reserving for another holder must collide, not pass for a retry.
func (n *CardNumbers) reserve(ctx context.Context, env Envelope, cardNo, cardholderID string) error {
	stream := CardNumberStream(cardNo)
	id := EventID(env.CommandID, stream+"\x00"+cardholderID, 0)
	ev, err := EncodeEvent(EncodeJSON, env, id, n.clock().UTC(), CardNumberReserved{CardNo: cardNo, CardholderID: cardholderID})
	if err != nil {
		return fmt.Errorf("reserve %s: %w", cardNo, err)
	}
	_, err = n.store.Append(ctx, stream, eventstore.NoStream(), []eventstore.EventData{ev})
	return err
}

// CardNumberStreamPrefix starts every card-number stream name.
const CardNumberStreamPrefix = "cardno-"

// CardNumberStream is the stream that reserves cardNo.
func CardNumberStream(cardNo string) string { return CardNumberStreamPrefix + cardNo }

// cardNoPrefix starts every number this system generates.
const cardNoPrefix = "A"

// maxReserveAttempts bounds collisions before Reserve gives up; with 10^8
// numbers a run of collisions this long means the space is nearly used up.
const maxReserveAttempts = 32

// maxResolvedCache bounds the card → cardholder cache; past it the cache
// starts over. Entries never go stale: a reservation is never undone.
const maxResolvedCache = 100_000

// CardNumbers makes card numbers unique and finds a card's holder.
//
// A number is reserved by appending CardNumberReserved to its own stream
// with NoStream, which only one writer can win, before the cardholder
// stream records the assignment; so two holders never share a number, and
// card_no → cardholder lookups work as soon as the number is assigned, on
// any store, without waiting for a projection. A reservation whose
// assignment is then refused stays unused.
type CardNumbers struct {
	store eventstore.Store
	clock func() time.Time

	mu       sync.Mutex
	resolved map[string]string
}

// NewCardNumbers returns the card-number service over store.
func NewCardNumbers(store eventstore.Store, clock func() time.Time) (*CardNumbers, error) {
	if store == nil {
		return nil, errors.New("commands: card numbers need an event store")
	}
	if clock == nil {
		return nil, errors.New("commands: card numbers need a clock")
	}
	return &CardNumbers{store: store, clock: clock, resolved: map[string]string{}}, nil
}

// Reserve claims a new card number for cardholderID. Candidates derive from
// env.CommandID, so a retried command reserves (finds) the same number.
func (n *CardNumbers) Reserve(ctx context.Context, env Envelope, cardholderID string) (string, error) {
	for attempt := range uint64(maxReserveAttempts) {
		cardNo := candidateCardNo(env, attempt)
		err := n.reserve(ctx, env, cardNo, cardholderID)
		if errors.Is(err, eventstore.ErrWrongRevision) {
			continue // taken by someone else
		}
		if err != nil {
			return "", fmt.Errorf("reserve card number: %w", err)
		}
		n.remember(cardNo, cardholderID)
		return cardNo, nil
	}
	return "", fmt.Errorf("reserve card number: %d candidates taken", maxReserveAttempts)
}

func candidateCardNo(env Envelope, attempt uint64) string {
	h := derived(env.CommandID, "card_no", attempt)
	return fmt.Sprintf("%s%08d", cardNoPrefix, binary.BigEndian.Uint64(h[:8])%100_000_000)
}

// Resolve returns the cardholder a card number was reserved for. A
// malformed number is a KindInvalid error, an unreserved one
// domain.CodeCardNotFound.
func (n *CardNumbers) Resolve(ctx context.Context, cardNo string) (string, error) {
	if err := domain.ValidateCardNo(cardNo); err != nil {
		return "", domain.Invalid(domain.FieldError{Field: "card_no", Code: domain.CodeInvalidCardNo, Message: err.Error()})
	}
	n.mu.Lock()
	id, ok := n.resolved[cardNo]
	n.mu.Unlock()
	if ok {
		return id, nil
	}
	stream := CardNumberStream(cardNo)
	recs, err := n.store.ReadStream(ctx, stream, 0, 1)
	if errors.Is(err, eventstore.ErrStreamNotFound) || (err == nil && len(recs) == 0) {
		return "", domain.NotFound(domain.CodeCardNotFound, "card %s does not exist", cardNo)
	}
	if err != nil {
		return "", fmt.Errorf("resolve card %s: %w", cardNo, err)
	}
	var r CardNumberReserved
	if err := json.Unmarshal(recs[0].Data, &r); err != nil || recs[0].Type != CardNumberReservedType || r.CardholderID == "" {
		return "", fmt.Errorf("resolve card %s: %s is not a reservation (%s)", cardNo, stream, recs[0].Type)
	}
	n.remember(cardNo, r.CardholderID)
	return r.CardholderID, nil
}

func (n *CardNumbers) remember(cardNo, cardholderID string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.resolved) >= maxResolvedCache {
		n.resolved = map[string]string{}
	}
	n.resolved[cardNo] = cardholderID
}

// reserveExact reserves a given card number (a legacy card keeps its
// number) for cardholderID and returns the holder it belongs to: cardholderID
// when the reservation is new or was this holder's already, another id when
// the number is taken.
func (n *CardNumbers) reserveExact(ctx context.Context, env Envelope, cardNo, cardholderID string) (string, error) {
	err := n.reserve(ctx, env, cardNo, cardholderID)
	if errors.Is(err, eventstore.ErrWrongRevision) {
		return n.Resolve(ctx, cardNo)
	}
	if err != nil {
		return "", fmt.Errorf("reserve card number %s: %w", cardNo, err)
	}
	n.remember(cardNo, cardholderID)
	return cardholderID, nil
}
