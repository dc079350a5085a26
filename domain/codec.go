package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Versioned events. Every event type has a schema version, recorded in the
// metadata of each stored event (Metadata.SchemaVersion). Writers take it
// from SchemaVersion, never from a constant; readers pass the stored one to
// the codec (DecodeStoredEvent, or DecodeEvent with the version), which
// decodes by (type, version): a payload older than the type's current
// version goes through the type's upcasters, one version at a time, so
// Apply, projections, rebuilds and analytics only ever see the current
// shape. A version newer than this code knows is an *UnknownVersionError
// (errors.Is ErrUnknownSchemaVersion): a reader must stop there, not skip
// the event, as it cannot know what the event says.
//
// To change an event's shape: keep the old shape as an unexported struct
// (eCardRevokedV1), change the exported struct, and add to the type's
// schema an upcaster from the last version to the new one (a pure function
// of the old payload: an upcaster sees one event, no state). The new
// version is the number of upcasters plus one. Never edit or drop an
// upcaster: stored events of every past version are read through it.
// domain/testdata holds stored logs of older versions that the tests fold.

// ErrUnknownEventType: DecodeEvent does not know the type. Projections skip
// such events; the aggregate must not (a stream it cannot read is a bug).
var ErrUnknownEventType = errors.New("unknown event type")

// ErrUnknownSchemaVersion: the stored schema version of a known type is not
// one this code reads (newer than its current version, or below 1).
var ErrUnknownSchemaVersion = errors.New("unknown event schema version")

// UnknownVersionError says which type and version could not be read.
type UnknownVersionError struct {
	Type    string
	Version int
	Current int // the newest version this code reads
}

func (e *UnknownVersionError) Error() string {
	return fmt.Sprintf("%s: %s version %d (this code reads versions 1 to %d)", ErrUnknownSchemaVersion, e.Type, e.Version, e.Current)
}

func (e *UnknownVersionError) Is(target error) bool { return target == ErrUnknownSchemaVersion }

// EventTypes lists every event type name this package encodes and decodes.
func EventTypes() []string { return cardholderCodec.typeNames() }

// SchemaVersion is the current payload schema version of an event type of
// any family (cardholder, batch, PSAM, permission, e-card, usage), the one writers
// store in Metadata.SchemaVersion; 0 means unknown type.
func SchemaVersion(eventType string) int {
	for _, c := range []*codec{cardholderCodec, batchCodec, permissionCodec, ecardCodec, platformAccountCodec, merchantCodec, paymentOrderCodec} {
		if s, ok := c.types[eventType]; ok {
			return s.version()
		}
	}
	if eventType == UsageEventType {
		return usageSchemaVersion
	}
	return 0
}

// EncodeEvent returns an event's type name and JSON payload, in the current
// version's shape (SchemaVersion).
func EncodeEvent(e Event) (eventType string, data []byte, err error) {
	return cardholderCodec.encode(e)
}

// DecodeEvent reads a payload of the given schema version and returns the
// event in its current shape, as a value (CardIssued, not *CardIssued).
// Unknown fields are ignored so that additive changes do not break older
// readers.
func DecodeEvent(eventType string, version int, data []byte) (Event, error) {
	return cardholderCodec.decode(eventType, version, data)
}

// DecodeStoredEvent is DecodeEvent with the version read from the event's
// stored metadata (StoredSchemaVersion). An unknown type is
// ErrUnknownEventType whatever the metadata holds.
func DecodeStoredEvent(eventType string, data, metadata []byte) (Event, error) {
	return cardholderCodec.decodeStored(eventType, data, metadata)
}

// StoredSchemaVersion reads the schema version from an event's stored
// metadata (the Metadata envelope). Metadata without one — empty, or
// written by a tool that does not set it — is version 1, the only version
// there was before versions were read.
func StoredSchemaVersion(metadata []byte) (int, error) {
	if v, ok := fastSchemaVersion(metadata); ok {
		return v, nil
	}
	if len(bytes.TrimSpace(metadata)) == 0 {
		return 1, nil
	}
	var m struct {
		SchemaVersion *int `json:"schema_version"`
	}
	if err := json.Unmarshal(metadata, &m); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	if m.SchemaVersion == nil {
		return 1, nil
	}
	return *m.SchemaVersion, nil
}

// metadataHead is how json.Marshal of Metadata starts; the event id between
// the two parts is a UUID string (36 bytes).
const (
	metadataHead    = `{"event_id":"`
	metadataVersion = `","schema_version":`
	uuidTextLen     = 36
)

// fastSchemaVersion reads the version of metadata that Metadata marshalled,
// without encoding/json: projections read it for every event. Anything
// else (ok=false) takes the general path, which gives the same answer.
func fastSchemaVersion(md []byte) (int, bool) {
	rest, ok := bytes.CutPrefix(md, []byte(metadataHead))
	if !ok || len(rest) < uuidTextLen || bytes.IndexAny(rest[:uuidTextLen], `"\`) >= 0 {
		return 0, false
	}
	rest, ok = bytes.CutPrefix(rest[uuidTextLen:], []byte(metadataVersion))
	if !ok {
		return 0, false
	}
	end := 0
	for end < len(rest) && end < 4 && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	if end == 0 || end == len(rest) || (rest[end] != ',' && rest[end] != '}') {
		return 0, false
	}
	v, err := strconv.Atoi(string(rest[:end]))
	return v, err == nil
}

// codec is the JSON codec of one family of event types; each family knows
// only its own types, so readers of one family skip the others as unknown.
type codec struct {
	family string // "event", "batch event": for error messages
	types  map[string]eventSchema
	order  []string // type names in declaration order
}

// eventSchema is how one event type is read and written: the decoder of
// its current shape and the upcasters from each older version.
type eventSchema struct {
	name    string
	current decoder
	// upcasters[v-1] turns the JSON of version v into that of version v+1.
	upcasters []upcaster
}

func (s eventSchema) version() int { return len(s.upcasters) + 1 }

// upcaster rewrites the payload of one version into the next version's.
type upcaster func(data []byte) ([]byte, error)

// schema declares event type T; its current version is len(upcasters)+1.
func schema[T Event](upcasters ...upcaster) eventSchema {
	var zero T
	return eventSchema{name: zero.EventType(), current: decoderOf[T]{}, upcasters: upcasters}
}

// upcast is the upcaster of a typed step from one version's shape to the
// next (unknown fields of the old payload are dropped, as DecodeEvent
// would).
func upcast[From, To any](step func(From) To) upcaster {
	return func(data []byte) ([]byte, error) {
		var old From
		if err := json.Unmarshal(data, &old); err != nil {
			return nil, err
		}
		return json.Marshal(step(old))
	}
}

func newCodec(family string, schemas ...eventSchema) *codec {
	c := &codec{family: family, types: make(map[string]eventSchema, len(schemas))}
	for _, s := range schemas {
		if _, dup := c.types[s.name]; dup {
			panic("domain: event type " + s.name + " declared twice")
		}
		c.types[s.name] = s
		c.order = append(c.order, s.name)
	}
	return c
}

func (c *codec) typeNames() []string { return append([]string(nil), c.order...) }

func (c *codec) schemaOf(eventType string) (eventSchema, error) {
	s, ok := c.types[eventType]
	if !ok {
		return eventSchema{}, fmt.Errorf("%w: %q", ErrUnknownEventType, eventType)
	}
	return s, nil
}

func (c *codec) encode(e Event) (eventType string, data []byte, err error) {
	if e == nil {
		return "", nil, fmt.Errorf("encode %s: nil event", c.family)
	}
	eventType = e.EventType()
	if _, err := c.schemaOf(eventType); err != nil {
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

func (c *codec) decode(eventType string, version int, data []byte) (Event, error) {
	s, err := c.schemaOf(eventType)
	if err != nil {
		return nil, err
	}
	if version < 1 || version > s.version() {
		return nil, &UnknownVersionError{Type: eventType, Version: version, Current: s.version()}
	}
	for v := version; v < s.version(); v++ {
		if data, err = s.upcasters[v-1](data); err != nil {
			return nil, fmt.Errorf("upcast %s from version %d: %w", eventType, v, err)
		}
	}
	e, err := s.current.decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", eventType, err)
	}
	return e, nil
}

func (c *codec) decodeStored(eventType string, data, metadata []byte) (Event, error) {
	if _, err := c.schemaOf(eventType); err != nil {
		return nil, err
	}
	v, err := StoredSchemaVersion(metadata)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", eventType, err)
	}
	return c.decode(eventType, v, data)
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

// cardholderCodec declares the cardholder family: every type at version 1
// but ECardRevoked (version 2, see events.go).
var cardholderCodec = newCodec("event",
	schema[CardholderRegistered](),
	schema[CardApplied](),
	schema[BankAccountOpened](),
	schema[BankAccountRefused](),
	schema[CardNumberAssigned](),
	schema[CardProduced](),
	schema[CardProductionFailed](),
	schema[CardHandedOver](),
	schema[CardIssued](),
	schema[CardActivated](),
	schema[CardReportedLost](),
	schema[CardTemporarilyLost](),
	schema[CardUnlocked](),
	schema[CardCancelled](),
	schema[CardCancellationRestored](),
	schema[PINReset](),
	schema[PINChanged](),
	schema[CardholderTransferredOut](),
	schema[ECardIssued](),
	schema[ECardRevoked](upcast(eCardRevokedV1.toV2)),
	schema[CardholderErased](),
	schema[ECardChannelBound](),
	schema[ECardChannelUnbound](),
	schema[ECardCarriedOver](),
	schema[ConsentGranted](),
	schema[ConsentRevoked](),
	schema[CardCancellationRequested](),
	schema[PhoneChanged](),
	schema[ECardRiskAlerted](),
	schema[CardholderMigrated](),
	schema[LegacyCardRecorded](),
	schema[PersonalDataCorrected](),
	schema[IdentityMovedOut](),
	schema[IdentityMovedIn](),
	schema[NotificationPreferencesSet](),
	schema[PhotoCollected](),
	schema[CardTransferredIn](),
	schema[ProvincialRecordCancelled](),
	schema[ReplacementFeeAssessed](),
	schema[ReplacementFeePaid](),
)
