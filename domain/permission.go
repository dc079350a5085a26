package domain

import (
	"fmt"
	"strings"
	"time"
)

// Permission requests (权限下放): a county administrator asks that an
// operator client be given a role in a region; a city administrator approves
// or rejects it. Each request is its own stream ("permission-<id>") so its
// whole history stays together. Who may request or decide is the
// application's business (it knows the callers' scopes); this aggregate
// keeps the request's own rules:
//   - a request is made once, names an operator, a role and a valid region;
//   - it is decided once: approved or rejected, never both, never again;
//   - the decider is recorded and is never the requester.

// PermissionStreamPrefix starts every permission request stream name.
const PermissionStreamPrefix = "permission-"

// PermissionStreamFor is the stream of request id.
func PermissionStreamFor(id string) string { return PermissionStreamPrefix + id }

// PermissionStatus is where a request stands.
type PermissionStatus string

const (
	RequestNone     PermissionStatus = ""
	RequestPending  PermissionStatus = "pending"
	RequestApproved PermissionStatus = "approved"
	RequestRejected PermissionStatus = "rejected"
)

// Codes of refused permission commands.
const (
	CodePermissionExists     = "permission_request_exists"    // KindConflict
	CodePermissionNotFound   = "permission_request_not_found" // KindNotFound
	CodePermissionDecided    = "permission_request_decided"   // KindConflict
	CodePermissionSelfDecide = "permission_self_decision"     // KindConflict
)

// Permission events.
type (
	PermissionRequested struct {
		RequestID       string    `json:"request_id"`
		Operator        string    `json:"operator"` // the client to be granted
		Role            string    `json:"role"`
		Region          string    `json:"region"`
		Reason          string    `json:"reason,omitempty"`
		RequestedBy     string    `json:"requested_by"`
		RequesterRegion string    `json:"requester_region"`
		At              time.Time `json:"at"`
	}
	PermissionApproved struct {
		RequestID  string    `json:"request_id"`
		ApprovedBy string    `json:"approved_by"`
		Note       string    `json:"note,omitempty"`
		At         time.Time `json:"at"`
	}
	PermissionRejected struct {
		RequestID  string    `json:"request_id"`
		RejectedBy string    `json:"rejected_by"`
		Reason     string    `json:"reason,omitempty"`
		At         time.Time `json:"at"`
	}
)

// Permission event types as stored.
const (
	TypePermissionRequested = "PermissionRequested"
	TypePermissionApproved  = "PermissionApproved"
	TypePermissionRejected  = "PermissionRejected"
)

// PermissionRequest is the state of one request stream.
type PermissionRequest struct {
	ID          string
	Status      PermissionStatus
	Operator    string
	Role        string
	Region      string
	Reason      string
	RequestedBy string
	DecidedBy   string
	Note        string // approval note or rejection reason
	Version     int    // events applied
}

// Apply folds one permission event into the state.
func (p *PermissionRequest) Apply(e Event) {
	switch e := e.(type) {
	case PermissionRequested:
		p.ID, p.Status, p.Operator, p.Role, p.Region, p.Reason, p.RequestedBy =
			e.RequestID, RequestPending, e.Operator, e.Role, e.Region, e.Reason, e.RequestedBy
	case PermissionApproved:
		p.Status, p.DecidedBy, p.Note = RequestApproved, e.ApprovedBy, e.Note
	case PermissionRejected:
		p.Status, p.DecidedBy, p.Note = RequestRejected, e.RejectedBy, e.Reason
	}
	p.Version++
}

// Permission commands.
type (
	RequestPermission PermissionRequested
	ApprovePermission struct {
		By   string
		Note string
		At   time.Time
	}
	RejectPermission struct {
		By     string
		Reason string
		At     time.Time
	}
)

// DecidePermission turns a permission command into events or a *Error.
func DecidePermission(p *PermissionRequest, cmd PermissionCommand) ([]Event, error) {
	switch c := cmd.(type) {
	case RequestPermission:
		if p.Status != RequestNone {
			return nil, Conflict(CodePermissionExists, "permission request %s exists", p.ID)
		}
		var fields []FieldError
		if strings.TrimSpace(c.Operator) == "" {
			fields = append(fields, FieldError{Field: "operator", Code: CodeRequired, Message: "name the operator client"})
		}
		if strings.TrimSpace(c.Role) == "" {
			fields = append(fields, FieldError{Field: "role", Code: CodeRequired, Message: "name the role to grant"})
		}
		if err := ValidateRegionCode(c.Region); err != nil {
			fields = append(fields, FieldError{Field: "region", Code: CodeInvalidRegionCode, Message: err.Error()})
		}
		if len([]rune(c.Reason)) > 500 {
			fields = append(fields, FieldError{Field: "reason", Code: CodeTooLong, Message: "at most 500 characters"})
		}
		if len(fields) > 0 {
			return nil, Invalid(fields...)
		}
		return []Event{PermissionRequested(c)}, nil
	case ApprovePermission:
		if err := decidable(p, c.By); err != nil {
			return nil, err
		}
		return []Event{PermissionApproved{RequestID: p.ID, ApprovedBy: c.By, Note: c.Note, At: c.At}}, nil
	case RejectPermission:
		if err := decidable(p, c.By); err != nil {
			return nil, err
		}
		return []Event{PermissionRejected{RequestID: p.ID, RejectedBy: c.By, Reason: c.Reason, At: c.At}}, nil
	}
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: fmt.Sprintf("unknown permission command %T", cmd)}
}

func decidable(p *PermissionRequest, by string) error {
	switch {
	case p.Status == RequestNone:
		return NotFound(CodePermissionNotFound, "no such permission request")
	case p.Status != RequestPending:
		return Conflict(CodePermissionDecided, "the request was already %s by %s", p.Status, p.DecidedBy)
	case by == p.RequestedBy:
		return Conflict(CodePermissionSelfDecide, "the requester cannot decide its own request")
	}
	return nil
}

func (PermissionRequested) EventType() string { return TypePermissionRequested }
func (PermissionApproved) EventType() string  { return TypePermissionApproved }
func (PermissionRejected) EventType() string  { return TypePermissionRejected }

// permissionCodec declares the permission family; every type is at version 1.
var permissionCodec = newCodec("permission event",
	schema[PermissionRequested](),
	schema[PermissionApproved](),
	schema[PermissionRejected](),
)

// EncodePermissionEvent returns the stored type and JSON of a permission event.
func EncodePermissionEvent(e Event) (string, []byte, error) {
	return permissionCodec.encode(e)
}

// DecodePermissionEvent reads a stored permission event of the given
// schema version (see codec.go).
func DecodePermissionEvent(typ string, version int, data []byte) (Event, error) {
	return permissionCodec.decode(typ, version, data)
}

// DecodeStoredPermissionEvent is DecodePermissionEvent with the version read
// from the stored metadata (StoredSchemaVersion).
func DecodeStoredPermissionEvent(typ string, data, metadata []byte) (Event, error) {
	return permissionCodec.decodeStored(typ, data, metadata)
}
