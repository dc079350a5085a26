package commands

import (
	"crypto/sha256"
	"encoding/binary"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/internal/httpapi"
)

// Envelope is what every command carries besides its payload: who sent it,
// through which channel, and the id that makes its effects idempotent.
type Envelope struct {
	// CommandID names the command. Event ids, application ids and card
	// number candidates derive from it, so running the same command twice
	// writes nothing new.
	CommandID uuid.UUID
	// Expected is the If-Match revision of the cardholder stream, or nil.
	Expected      *uint64
	Actor         domain.Actor
	Channel       string
	CorrelationID string
	// CausationID is what caused the command (a request id, an event id);
	// it defaults to the command id.
	CausationID string
	// RemoteAddr is where the command came from over the network.
	RemoteAddr string
	// Scope limits which cardholders the command may touch; the zero value
	// (batch jobs, the seeder) is unrestricted. Checked on the loaded state
	// and on the state the command would leave, before anything is appended.
	Scope httpapi.Scope
	// Consent is the holder's consent scope a channel caller
	// (Scope.Channel set) needs for this command or read; "" needs none
	// (binding is still checked). See checkChannel.
	Consent domain.ConsentScope
	// MayBind lets a channel caller act on a holder not bound to it yet:
	// the command that binds them (bind_ecard_channel).
	MayBind bool
	// OccurredAt, if set, is the occurred_at of the command's index-th
	// event, stored as given, instead of the writer's clock (one time for
	// all its events): for writers that record what happened earlier, such
	// as the seeder, whose one command per synthetic person carries a whole
	// lifecycle, a step a second. Commands leave it nil.
	OccurredAt func(index int) time.Time
	// Record, if set, is a row the command's first append writes in its
	// own transaction (Pipeline.Run, on an eventstore.RowAppender; a store
	// that cannot gets no append: eventstore.ErrRowAppendUnsupported): the
	// Idempotency-Key record of a request (see Idempotency). Nil for
	// everything else.
	Record *AppendRecord
}

// AppendRecord is a row to write with an append, and whether it was.
type AppendRecord struct {
	Row eventstore.Row
	// Written: the row is committed with the command's events.
	Written bool
}

// NewEnvelope returns an envelope with a fresh random command id.
func NewEnvelope(actor domain.Actor, channel string) Envelope {
	return Envelope{CommandID: uuid.New(), Actor: actor, Channel: channel}
}

// namespace of every id derived here (a fixed random UUID; never change it:
// stored event ids depend on it).
var namespace = uuid.MustParse("6f1d2c5e-8a43-4b8e-9c0a-3e7b1f52d9a4")

// CommandIDFor is the command id of a request sent with an Idempotency-Key:
// the same client and key always name the same command.
func CommandIDFor(client, idempotencyKey string) uuid.UUID {
	return uuid.NewSHA1(namespace, []byte("idempotency\x00"+client+"\x00"+idempotencyKey))
}

// EventID is the id of the index-th event a command appends to stream.
func EventID(commandID uuid.UUID, stream string, index int) uuid.UUID {
	b := make([]byte, 0, 16+len(stream)+9)
	b = append(b, commandID[:]...)
	b = append(b, stream...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(index))
	return uuid.NewSHA1(namespace, b)
}

// ApplicationIDFor is the application id a command creates.
func ApplicationIDFor(commandID uuid.UUID) string {
	return IDFor("application", commandID).String()
}

// derived returns stable pseudo-random bytes for purpose, so that the card
// number candidates a command draws from the ledger's own number range are
// the same when the command is retried. Never use it for data that comes
// from outside (bank accounts, chip ids): the ledger records those as sent.
func derived(commandID uuid.UUID, purpose string, n uint64) [32]byte {
	b := append([]byte(purpose+"\x00"), commandID[:]...)
	b = binary.BigEndian.AppendUint64(b, n)
	return sha256.Sum256(b)
}

// IDFor is the id of what a command creates for purpose (an application,
// a permission request): the same command always creates the same one.
func IDFor(purpose string, commandID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(namespace, append([]byte(purpose+"\x00"), commandID[:]...))
}
