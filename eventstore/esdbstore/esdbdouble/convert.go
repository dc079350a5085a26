package esdbdouble

import (
	"encoding/binary"
	"strconv"

	"github.com/EventStore/EventStore-Client-Go/v4/protos/shared"
	api "github.com/EventStore/EventStore-Client-Go/v4/protos/streams"
	"github.com/google/uuid"
)

// Keys of the system metadata map every event carries on the wire.
const (
	metaType        = "type"
	metaContentType = "content-type"
	metaCreated     = "created"
)

func uuidFromProto(id *shared.UUID) (uuid.UUID, error) {
	if s := id.GetStructured(); s != nil {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], uint64(s.MostSignificantBits))
		binary.BigEndian.PutUint64(b[8:], uint64(s.LeastSignificantBits))
		return uuid.UUID(b), nil
	}
	return uuid.Parse(id.GetString_())
}

func uuidToProto(id uuid.UUID, asString bool) *shared.UUID {
	if asString {
		return &shared.UUID{Value: &shared.UUID_String_{String_: id.String()}}
	}
	return &shared.UUID{Value: &shared.UUID_Structured_{Structured: &shared.UUID_Structured{
		MostSignificantBits:  int64(binary.BigEndian.Uint64(id[:8])),
		LeastSignificantBits: int64(binary.BigEndian.Uint64(id[8:])),
	}}}
}

// recordToProto builds the wire form of a stored event. "created" is always
// set: the Go client calls log.Fatalf on an event without it.
func recordToProto(r *record, uuidAsString bool) *api.ReadResp_ReadEvent_RecordedEvent {
	return &api.ReadResp_ReadEvent_RecordedEvent{
		Id:               uuidToProto(r.id, uuidAsString),
		StreamIdentifier: &shared.StreamIdentifier{StreamName: []byte(r.stream)},
		StreamRevision:   r.revision,
		PreparePosition:  r.position,
		CommitPosition:   r.position,
		Metadata: map[string]string{
			metaType:        r.eventType,
			metaContentType: r.contentType,
			// .NET ticks (100 ns) since the Unix epoch.
			metaCreated: strconv.FormatInt(r.created.UnixNano()/100, 10),
		},
		CustomMetadata: r.metadata,
		Data:           r.data,
	}
}

func readEvent(r *record, uuidAsString, withPosition bool) *api.ReadResp {
	ev := &api.ReadResp_ReadEvent{Event: recordToProto(r, uuidAsString)}
	if withPosition {
		ev.Position = &api.ReadResp_ReadEvent_CommitPosition{CommitPosition: r.position}
	} else {
		ev.Position = &api.ReadResp_ReadEvent_NoPosition{NoPosition: &shared.Empty{}}
	}
	return &api.ReadResp{Content: &api.ReadResp_Event{Event: ev}}
}
