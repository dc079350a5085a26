package domain

// The aggregate contract. Every aggregate (cardholder, batch, PSAM,
// permission request) is described the same way, by an Aggregate value:
// where its stream is, its empty state, how an event folds into it, how a
// command of its own kind decides, and its codec. The one write pipeline
// (commands.Pipeline) runs load–decide–append for any of them.
//
// Commands are typed per aggregate: a cardholder command cannot be handed
// to a batch (Decide(cardholder, CreateBatch{}) does not compile). Each
// command type marks its aggregate with an unexported method.

// CardholderCommand is a command of the cardholder aggregate.
type CardholderCommand interface {
	Command
	cardholderCommand()
}

// BatchCommand is a command of the batch aggregate.
type BatchCommand interface {
	Command
	batchCommand()
}

// PSAMCommand is a command of the PSAM aggregate.
type PSAMCommand interface {
	Command
	psamCommand()
}

// PermissionCommand is a command of the permission request aggregate.
type PermissionCommand interface {
	Command
	permissionCommand()
}

// Aggregate describes one aggregate type, state S and command type C.
// Apply and Decide are pure; Apply returns an error only for an event the
// aggregate does not know (a stream it cannot read is a bug).
type Aggregate[S any, C Command] struct {
	Name   string // "cardholder", "batch", ...: for messages
	Stream func(id string) string
	New    func(id string) S
	Apply  func(S, Event) error
	Decide func(S, C) ([]Event, error)
	// Encode returns the stored type and payload of an event (current
	// schema version); DecodeStored reads one back with the version its
	// metadata names.
	Encode       func(Event) (string, []byte, error)
	DecodeStored func(eventType string, data, metadata []byte) (Event, error)
}

// Cardholders is the cardholder aggregate.
var Cardholders = Aggregate[*Cardholder, CardholderCommand]{
	Name:         "cardholder",
	Stream:       StreamFor,
	New:          NewCardholder,
	Apply:        func(c *Cardholder, e Event) error { c.Apply(e); return nil },
	Decide:       Decide,
	Encode:       EncodeEvent,
	DecodeStored: DecodeStoredEvent,
}

// Batches is the batch aggregate (a batch that does not exist yet is the
// zero Batch).
var Batches = Aggregate[*Batch, BatchCommand]{
	Name:         "batch",
	Stream:       BatchStreamFor,
	New:          func(string) *Batch { return &Batch{} },
	Apply:        (*Batch).Apply,
	Decide:       DecideBatch,
	Encode:       EncodeBatchEvent,
	DecodeStored: DecodeStoredBatchEvent,
}

// PSAMs is the PSAM card aggregate.
var PSAMs = Aggregate[*PSAM, PSAMCommand]{
	Name:         "psam",
	Stream:       PSAMStreamFor,
	New:          func(string) *PSAM { return &PSAM{} },
	Apply:        (*PSAM).Apply,
	Decide:       DecidePSAM,
	Encode:       EncodeBatchEvent,
	DecodeStored: DecodeStoredBatchEvent,
}

// Permissions is the permission request aggregate.
var Permissions = Aggregate[*PermissionRequest, PermissionCommand]{
	Name:         "permission request",
	Stream:       PermissionStreamFor,
	New:          func(string) *PermissionRequest { return &PermissionRequest{} },
	Apply:        func(p *PermissionRequest, e Event) error { p.Apply(e); return nil },
	Decide:       DecidePermission,
	Encode:       EncodePermissionEvent,
	DecodeStored: DecodeStoredPermissionEvent,
}

// AsCardholderCommand narrows a command whose type is only known at run
// time (a value typed Command by an older caller) to a cardholder command,
// refusing any other as the domain refuses an unknown command.
func AsCardholderCommand(cmd Command) (CardholderCommand, error) {
	if c, ok := cmd.(CardholderCommand); ok {
		return c, nil
	}
	if cmd == nil {
		return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: "no command"}
	}
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: "a cardholder cannot decide " + cmd.CommandName()}
}

func (RegisterCardholder) cardholderCommand()      {}
func (ApplyForCard) cardholderCommand()            {}
func (OpenBankAccount) cardholderCommand()         {}
func (RefuseBankAccount) cardholderCommand()       {}
func (AssignCardNumber) cardholderCommand()        {}
func (RecordProduction) cardholderCommand()        {}
func (RecordProductionFailure) cardholderCommand() {}
func (HandOverCard) cardholderCommand()            {}
func (IssueCard) cardholderCommand()               {}
func (ActivateCard) cardholderCommand()            {}
func (ReportLoss) cardholderCommand()              {}
func (ReportTemporaryLoss) cardholderCommand()     {}
func (UnlockCard) cardholderCommand()              {}
func (CancelCard) cardholderCommand()              {}
func (RestoreCancellation) cardholderCommand()     {}
func (ResetPIN) cardholderCommand()                {}
func (ChangePIN) cardholderCommand()               {}
func (ReplaceCard) cardholderCommand()             {}
func (TransferOut) cardholderCommand()             {}
func (IssueECard) cardholderCommand()              {}
func (RevokeECard) cardholderCommand()             {}
func (InstantIssue) cardholderCommand()            {}
func (EraseCardholder) cardholderCommand()         {}

func (CreateBatch) batchCommand()            {}
func (ReviewBatch) batchCommand()            {}
func (ConfirmBatch) batchCommand()           {}
func (RecordBatchExport) batchCommand()      {}
func (AcceptBatchReturn) batchCommand()      {}
func (HandOverBatch) batchCommand()          {}
func (PickUpBatch) batchCommand()            {}
func (RecordBatchJobProgress) batchCommand() {}
func (CompleteBatchJob) batchCommand()       {}
func (RetryBatchJob) batchCommand()          {}

func (StockInPSAM) psamCommand()       {}
func (IssuePSAM) psamCommand()         {}
func (ReturnPSAM) psamCommand()        {}
func (ReportPSAMDamaged) psamCommand() {}
func (ReportPSAMLost) psamCommand()    {}

func (RequestPermission) permissionCommand() {}
func (ApprovePermission) permissionCommand() {}
func (RejectPermission) permissionCommand()  {}

func (RequestPermission) CommandName() string { return "request_permission" }
func (ApprovePermission) CommandName() string { return "approve_permission" }
func (RejectPermission) CommandName() string  { return "reject_permission" }
