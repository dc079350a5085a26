package domain

import "time"

// Metadata is the envelope stored with every event (as the event store's
// metadata JSON). It says when, by whom, through which channel and why.
type Metadata struct {
	EventID       string    `json:"event_id"`
	SchemaVersion int       `json:"schema_version"`
	OccurredAt    time.Time `json:"occurred_at"`
	Actor         Actor     `json:"actor"`
	Channel       string    `json:"channel,omitempty"` // http, batch, cli, seed ...
	CorrelationID string    `json:"correlation_id,omitempty"`
	CausationID   string    `json:"causation_id,omitempty"`
}

// Actor is who caused an event: the client system and, if known, its operator.
type Actor struct {
	Client   string `json:"client"`
	Operator string `json:"operator,omitempty"`
}
