package esdbstore

import (
	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/chain"
)

// expectedRevision maps the port's expected revision to the client's. Both
// count revisions from 0, so an exact revision passes through unchanged.
func expectedRevision(e eventstore.ExpectedRevision) esdb.ExpectedRevision {
	if rev, ok := e.Revision(); ok {
		return esdb.StreamRevision{Value: rev}
	}
	switch {
	case e.IsNoStream():
		return esdb.NoStream{}
	case e.IsStreamExists():
		return esdb.StreamExists{}
	default:
		return esdb.Any{}
	}
}

func position(p esdb.Position) eventstore.Position {
	return eventstore.Position{Commit: p.Commit, Prepare: p.Prepare}
}

// allFrom is where a $all read or subscription after p begins: the start
// of the log for Start, otherwise p itself.
func allFrom(p eventstore.Position) esdb.AllPosition {
	if p == eventstore.Start {
		return esdb.Start{}
	}
	return esdb.Position{Commit: p.Commit, Prepare: p.Prepare}
}

// recorded converts a stored event, taking the application's metadata and
// the chain hash out of the envelope Append wrote. Metadata that is not an
// envelope (an event written by another tool) passes through with no hash,
// which verification reports as unchained.
func recorded(e *esdb.RecordedEvent) eventstore.RecordedEvent {
	metadata := e.UserMetadata
	hash, m, err := chain.DecodeMetadata(metadata)
	if err == nil {
		metadata = m
	}
	return eventstore.RecordedEvent{
		Stream:     e.StreamID,
		Revision:   e.EventNumber,
		Position:   position(e.Position),
		ID:         e.EventID,
		Type:       e.EventType,
		Data:       e.Data,
		Metadata:   metadata,
		RecordedAt: e.CreatedDate,
		Hash:       hash,
	}
}

// isSystem reports whether an event belongs to EventStoreDB rather than to
// the application: system event types start with "$".
func isSystem(e *esdb.RecordedEvent) bool {
	return len(e.EventType) > 0 && e.EventType[0] == '$'
}
