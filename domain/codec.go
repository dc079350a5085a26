package domain

import (
	"encoding/json"
	"errors"
	"fmt"
)

// ErrUnknownEventType: DecodeEvent does not know the type. Projections skip
// such events; the aggregate must not (a stream it cannot read is a bug).
var ErrUnknownEventType = errors.New("unknown event type")

// EventTypes lists every event type name this package encodes and decodes.
func EventTypes() []string {
	return []string{
		CardholderRegistered{}.EventType(),
		CardApplied{}.EventType(),
		BankAccountOpened{}.EventType(),
		BankAccountRefused{}.EventType(),
		CardNumberAssigned{}.EventType(),
		CardProduced{}.EventType(),
		CardProductionFailed{}.EventType(),
		CardHandedOver{}.EventType(),
		CardIssued{}.EventType(),
		CardActivated{}.EventType(),
		CardReportedLost{}.EventType(),
		CardTemporarilyLost{}.EventType(),
		CardUnlocked{}.EventType(),
		CardCancelled{}.EventType(),
		CardCancellationRestored{}.EventType(),
		PINReset{}.EventType(),
		PINChanged{}.EventType(),
		CardholderTransferredOut{}.EventType(),
		ECardIssued{}.EventType(),
		ECardRevoked{}.EventType(),
		CardholderErased{}.EventType(),
	}
}

// SchemaVersion is the payload schema version of an event type, stored in
// Metadata.SchemaVersion. Every type is at version 1; 0 means unknown type.
func SchemaVersion(eventType string) int {
	if _, err := zeroEvent(eventType); err != nil {
		return 0
	}
	return 1
}

// EncodeEvent returns an event's type name and JSON payload.
func EncodeEvent(e Event) (eventType string, data []byte, err error) {
	return cardholderCodec.encode(e)
}

// DecodeEvent reads a payload written by EncodeEvent. It returns the event
// as a value (CardIssued, not *CardIssued). Unknown fields are ignored so
// that additive changes do not break older readers.
func DecodeEvent(eventType string, data []byte) (Event, error) {
	return cardholderCodec.decode(eventType, data)
}

// codec is the JSON codec of one family of event types; each family knows
// only its own types, so readers of one family skip the others as unknown.
type codec struct {
	family string // "event", "batch event": for error messages
	zero   func(eventType string) (decoder, error)
}

var cardholderCodec = codec{family: "event", zero: zeroEvent}

func (c codec) encode(e Event) (eventType string, data []byte, err error) {
	if e == nil {
		return "", nil, fmt.Errorf("encode %s: nil event", c.family)
	}
	eventType = e.EventType()
	if _, err := c.zero(eventType); err != nil {
		return "", nil, fmt.Errorf("encode %s: %w", c.family, err)
	}
	data, err = json.Marshal(e)
	if err != nil {
		return "", nil, fmt.Errorf("encode %s: %w", eventType, err)
	}
	if err := checkText(eventType, data); err != nil {
		return "", nil, err
	}
	return eventType, data, nil
}

func (c codec) decode(eventType string, data []byte) (Event, error) {
	zero, err := c.zero(eventType)
	if err != nil {
		return nil, err
	}
	e, err := zero.decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", eventType, err)
	}
	return e, nil
}

// decoder unmarshals into a fresh value of one event type.
type decoder interface {
	decode(data []byte) (Event, error)
}

type decoderOf[T Event] struct{}

func (decoderOf[T]) decode(data []byte) (Event, error) {
	var e T
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, err
	}
	return e, nil
}

func zeroEvent(eventType string) (decoder, error) {
	switch eventType {
	case "CardholderRegistered":
		return decoderOf[CardholderRegistered]{}, nil
	case "CardApplied":
		return decoderOf[CardApplied]{}, nil
	case "BankAccountOpened":
		return decoderOf[BankAccountOpened]{}, nil
	case "BankAccountRefused":
		return decoderOf[BankAccountRefused]{}, nil
	case "CardNumberAssigned":
		return decoderOf[CardNumberAssigned]{}, nil
	case "CardProduced":
		return decoderOf[CardProduced]{}, nil
	case "CardProductionFailed":
		return decoderOf[CardProductionFailed]{}, nil
	case "CardHandedOver":
		return decoderOf[CardHandedOver]{}, nil
	case "CardIssued":
		return decoderOf[CardIssued]{}, nil
	case "CardActivated":
		return decoderOf[CardActivated]{}, nil
	case "CardReportedLost":
		return decoderOf[CardReportedLost]{}, nil
	case "CardTemporarilyLost":
		return decoderOf[CardTemporarilyLost]{}, nil
	case "CardUnlocked":
		return decoderOf[CardUnlocked]{}, nil
	case "CardCancelled":
		return decoderOf[CardCancelled]{}, nil
	case "CardCancellationRestored":
		return decoderOf[CardCancellationRestored]{}, nil
	case "PINReset":
		return decoderOf[PINReset]{}, nil
	case "PINChanged":
		return decoderOf[PINChanged]{}, nil
	case "CardholderTransferredOut":
		return decoderOf[CardholderTransferredOut]{}, nil
	case "ECardIssued":
		return decoderOf[ECardIssued]{}, nil
	case "ECardRevoked":
		return decoderOf[ECardRevoked]{}, nil
	case "CardholderErased":
		return decoderOf[CardholderErased]{}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownEventType, eventType)
}
