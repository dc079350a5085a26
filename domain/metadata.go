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
	// RemoteAddr is the network address the command came from (the HTTP
	// client's IP as the server's IP extractor sees it); "" off the network.
	RemoteAddr string `json:"remote_addr,omitempty"`
}

// Actor is who caused an event: the client system and, if known, its operator.
type Actor struct {
	Client   string `json:"client"`
	Operator string `json:"operator,omitempty"`
	// CertSubject is the subject of the verified TLS client certificate the
	// client presented, if it authenticated with one.
	CertSubject string `json:"cert_subject,omitempty"`
}
