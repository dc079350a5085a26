package domain

import (
	"fmt"
	"strings"
)

// Two small aggregates of the e-card channels (issue 14), each with its own
// stream and codec family ("e-card event"), so that cardholder readers skip
// their events as unknown:
//
//   - the channel ("ecard-channel-<code>"): an administrator suspends it
//     (every code and session of it refused at once) and resumes it; since
//     issue 15 an administrator also registers the channel app here and
//     opens or closes it (ecard_channel_app.go). A channel without a stream
//     is active: such channels were made as API clients only.
//   - the holder's access log ("ecard-access-<cardholder id>"): one
//     ChannelAccessed per read or code a channel made under the holder's
//     consent. It is a log, not the holder's stream, so reads never move the
//     cardholder's revision (If-Match, ETags) nor contend with its commands;
//     its decision reads no state, so it is appended without loading
//     (commands.Pipeline.Log).

// ChannelCommand is a command of the e-card channel aggregate.
type ChannelCommand interface {
	Command
	channelCommand()
}

// AccessCommand is a command of the holder's access log.
type AccessCommand interface {
	Command
	accessCommand()
}

// Stream prefixes of the two aggregates.
const (
	ChannelStreamPrefix = "ecard-channel-"
	AccessStreamPrefix  = "ecard-access-"
)

// ChannelStreamFor is the stream of channel code.
func ChannelStreamFor(code string) string { return ChannelStreamPrefix + code }

// AccessStreamFor is the access log stream of cardholder id.
func AccessStreamFor(cardholderID string) string { return AccessStreamPrefix + cardholderID }

// AccessLogHolderOf is the cardholder id of an access log stream.
func AccessLogHolderOf(stream string) (string, bool) {
	return strings.CutPrefix(stream, AccessStreamPrefix)
}

// ChannelSuspended and ChannelResumed: an administrator stopped or resumed
// every code and session of the channel.
type ChannelSuspended struct {
	Channel string `json:"channel"`
	Reason  string `json:"reason"`
}

type ChannelResumed struct {
	Channel string `json:"channel"`
	Reason  string `json:"reason,omitempty"`
}

// ChannelAccessed: Channel read the holder's data or made a code for them
// under their consent's Scope. Operation names what (a route or "code").
type ChannelAccessed struct {
	CardholderID string       `json:"cardholder_id"`
	Channel      string       `json:"channel"`
	Scope        ConsentScope `json:"scope"`
	Operation    string       `json:"operation"`
}

func (ChannelSuspended) EventType() string { return "ChannelSuspended" }
func (ChannelResumed) EventType() string   { return "ChannelResumed" }
func (ChannelAccessed) EventType() string  { return "ChannelAccessed" }

// SuspendChannel and ResumeChannel are the administrator's.
type SuspendChannel struct{ Reason string }

type ResumeChannel struct{ Reason string }

// RecordChannelAccess appends one ChannelAccessed to the holder's log.
type RecordChannelAccess struct {
	CardholderID string
	Channel      string
	Scope        ConsentScope
	Operation    string
}

func (SuspendChannel) CommandName() string      { return "suspend_channel" }
func (ResumeChannel) CommandName() string       { return "resume_channel" }
func (RecordChannelAccess) CommandName() string { return "record_channel_access" }

func (SuspendChannel) channelCommand()     {}
func (ResumeChannel) channelCommand()      {}
func (RecordChannelAccess) accessCommand() {}

// ECardChannel is the state of one channel's stream.
type ECardChannel struct {
	Code      string
	Suspended bool
	Reason    string // of the last suspension or resumption
	// Registered, Name, Kind: the channel app an administrator registered
	// (ecard_channel_app.go); Open: opened (开通) and not closed since.
	Registered bool
	Name       string
	Kind       ChannelKind
	Open       bool
	// OpenReason is the reason of the last opening or closing.
	OpenReason string
	Version    int
}

// Apply folds one channel event.
func (ch *ECardChannel) Apply(e Event) error {
	switch e := e.(type) {
	case ChannelSuspended:
		ch.Suspended, ch.Reason = true, e.Reason
	case ChannelResumed:
		ch.Suspended, ch.Reason = false, e.Reason
	case ChannelAppRegistered:
		ch.Registered, ch.Name, ch.Kind = true, e.Name, e.Kind
	case ChannelOpened:
		ch.Open, ch.OpenReason = true, e.Reason
	case ChannelClosed:
		ch.Open, ch.OpenReason = false, e.Reason
	default:
		return fmt.Errorf("channel %s: unknown event %T", ch.Code, e)
	}
	ch.Version++
	return nil
}

// DecideChannel decides a channel command; ch.Code is the stream's channel.
func DecideChannel(ch *ECardChannel, cmd ChannelCommand) ([]Event, error) {
	var f fieldErrors
	if err := ValidateChannelCode(ch.Code); err != nil {
		f.add("channel", CodeInvalidValue, "%v", err)
	}
	switch cmd := cmd.(type) {
	case SuspendChannel:
		f.requiredText("reason", cmd.Reason, maxTextLen)
		if err := f.err(); err != nil {
			return nil, err
		}
		if ch.Suspended {
			return nil, Conflict(CodeChannelAlreadySuspended, "channel %s is already suspended", ch.Code)
		}
		return one(ChannelSuspended{Channel: ch.Code, Reason: cmd.Reason})
	case ResumeChannel:
		f.text("reason", cmd.Reason, maxTextLen)
		if err := f.err(); err != nil {
			return nil, err
		}
		if !ch.Suspended {
			return nil, Conflict(CodeChannelNotSuspended, "channel %s is not suspended", ch.Code)
		}
		return one(ChannelResumed{Channel: ch.Code, Reason: cmd.Reason})
	case nil:
		return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: "no command"}
	}
	return decideChannelApp(ch, cmd, &f)
}

// AccessLog is the state of a holder's access log: only its length, as
// nothing is decided on it.
type AccessLog struct{ Entries int }

// DecideAccess records one access; it reads no state.
func DecideAccess(_ *AccessLog, cmd AccessCommand) ([]Event, error) {
	c, ok := cmd.(RecordChannelAccess)
	if !ok {
		return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: "an access log cannot decide this command"}
	}
	var f fieldErrors
	if f.required("cardholder_id", c.CardholderID) {
		f.ref("cardholder_id", c.CardholderID)
	}
	f.channel("channel", c.Channel)
	if !c.Scope.Valid() {
		f.add("scope", CodeInvalidValue, "scope %q is not one of identity, card_status, self_service, contact", c.Scope)
	}
	if f.required("operation", c.Operation) {
		f.ref("operation", c.Operation)
	}
	if err := f.err(); err != nil {
		return nil, err
	}
	return one(ChannelAccessed{CardholderID: c.CardholderID, Channel: c.Channel, Scope: c.Scope, Operation: c.Operation})
}

// ECardChannels is the channel aggregate.
var ECardChannels = Aggregate[*ECardChannel, ChannelCommand]{
	Name:         "e-card channel",
	Stream:       ChannelStreamFor,
	New:          func(code string) *ECardChannel { return &ECardChannel{Code: code} },
	Apply:        (*ECardChannel).Apply,
	Decide:       DecideChannel,
	Encode:       EncodeECardEvent,
	DecodeStored: DecodeStoredECardEvent,
}

// AccessLogs is the holder access-log aggregate.
var AccessLogs = Aggregate[*AccessLog, AccessCommand]{
	Name:   "e-card access log",
	Stream: AccessStreamFor,
	New:    func(string) *AccessLog { return &AccessLog{} },
	Apply: func(l *AccessLog, e Event) error {
		if _, ok := e.(ChannelAccessed); !ok {
			return fmt.Errorf("access log: unknown event %T", e)
		}
		l.Entries++
		return nil
	},
	Decide:       DecideAccess,
	Encode:       EncodeECardEvent,
	DecodeStored: DecodeStoredECardEvent,
}

// EncodeECardEvent encodes a channel or access-log event (current version).
func EncodeECardEvent(e Event) (string, []byte, error) { return ecardCodec.encode(e) }

// DecodeECardEvent reads a channel or access-log payload of the given version.
func DecodeECardEvent(typ string, version int, data []byte) (Event, error) {
	return ecardCodec.decode(typ, version, data)
}

// DecodeStoredECardEvent is DecodeECardEvent with the version its metadata names.
func DecodeStoredECardEvent(typ string, data, metadata []byte) (Event, error) {
	return ecardCodec.decodeStored(typ, data, metadata)
}

// ECardEventTypes lists the types of the e-card family.
func ECardEventTypes() []string { return ecardCodec.typeNames() }

// ecardCodec declares the e-card family; every type at version 1.
var ecardCodec = newCodec("e-card event",
	schema[ChannelSuspended](),
	schema[ChannelResumed](),
	schema[ChannelAccessed](),
	schema[ChannelAppRegistered](),
	schema[ChannelOpened](),
	schema[ChannelClosed](),
)
