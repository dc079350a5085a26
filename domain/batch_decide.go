package domain

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Codes of refused batch commands.
const (
	CodeBatchExists      = "batch_exists"            // KindConflict
	CodeBatchNotFound    = "batch_not_found"         // KindNotFound
	CodeBatchWrongStep   = "batch_wrong_step"        // KindConflict: the step is not the next one
	CodeBatchEmpty       = "batch_empty"             // KindConflict: the filter selected nobody
	CodeBatchJobRunning  = "batch_job_running"       // KindConflict: wait for the process manager
	CodeExportMismatch   = "export_mismatch"         // KindConflict: regenerated file differs from the recorded one
	CodeReturnRejected   = "return_rejected"         // KindInvalid: Fields lists every problem, by line
	CodeReturnDifferent  = "return_different"        // KindConflict: another return was already accepted
	CodeJobNotRunning    = "batch_job_mismatch"      // KindConflict: progress for a job that is not running
	CodeCustodyElsewhere = "batch_custody"           // KindConflict: hand-over From is not where the cards are
	CodeJobNotRetryable  = "batch_job_not_retryable" // KindConflict: not the last job, or the batch moved on

	// Per-line codes of a rejected return (FieldError.Code, Field "line N").
	CodeWrongBatch    = "wrong_batch"
	CodeWrongFile     = "wrong_file"
	CodeUnknownPerson = "unknown_person"
	CodeDuplicateLine = "duplicate_line"
	CodeMissingPerson = "missing_person"
	CodeMoreProblems  = "more_problems" // the report stops after maxReturnProblems
)

// maxReturnProblems bounds the problems listed for one rejected return.
const maxReturnProblems = 1000

// BatchChunk is how many members or return rows one event carries.
const BatchChunk = 2000

// BatchStreamFor names the stream of a batch.
func BatchStreamFor(batchID string) string { return "batch-" + batchID }

// BatchIDOfStream is the inverse of BatchStreamFor; ok is false for other streams.
func BatchIDOfStream(stream string) (id string, ok bool) {
	return strings.CutPrefix(stream, "batch-")
}

var (
	batchIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$`)
	datePattern    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	chipIDPattern  = regexp.MustCompile(`^[0-9A-F]{32}$`)
)

// ValidDate reports whether s is a real calendar date written YYYY-MM-DD
// (the pattern alone lets 2025-02-30 through).
func ValidDate(s string) bool {
	if !datePattern.MatchString(s) {
		return false
	}
	_, err := time.Parse(DateLayout, s)
	return err == nil
}

// ValidBatchID reports whether id may name a batch (it appears in stream
// names and file headers, so it is short and plain).
func ValidBatchID(id string) bool { return batchIDPattern.MatchString(id) }

// DecideBatch decides a batch command against b (nil or empty for a batch
// that does not exist yet). It returns the events to append, or a *Error.
func DecideBatch(b *Batch, cmd BatchCommand) ([]Event, error) {
	if c, ok := cmd.(CreateBatch); ok {
		return decideCreateBatch(b, c)
	}
	if b == nil || b.ID == "" {
		return nil, NotFound(CodeBatchNotFound, "no such batch")
	}
	switch c := cmd.(type) {
	case ReviewBatch:
		if c.Reviewer == "" {
			return nil, Invalid(FieldError{Field: "reviewer", Code: CodeRequired, Message: "who reviewed"})
		}
		if b.Step == StepReviewed && b.Reviewer == c.Reviewer {
			return nil, nil
		}
		if err := b.requireStep(cmd, StepCreated); err != nil {
			return nil, err
		}
		return []Event{BatchReviewed{Reviewer: c.Reviewer, Note: c.Note}}, nil
	case ConfirmBatch:
		if c.ConfirmedBy == "" {
			return nil, Invalid(FieldError{Field: "confirmed_by", Code: CodeRequired, Message: "who confirmed"})
		}
		if b.Step == StepConfirmed {
			return nil, nil
		}
		if err := b.requireStep(cmd, StepReviewed); err != nil {
			return nil, err
		}
		return []Event{BatchConfirmed{ConfirmedBy: c.ConfirmedBy}}, nil
	case RecordBatchExport:
		return b.decideExport(c)
	case AcceptBatchReturn:
		return b.decideReturn(c)
	case HandOverBatch:
		return b.decideHandOver(c)
	case PickUpBatch:
		if c.Agency == "" || !ValidDate(c.On) {
			return nil, Invalid(FieldError{Field: "agency/on", Code: CodeRequired, Message: "agency and date (YYYY-MM-DD) are required"})
		}
		// The job issues every card with this agency.
		var f fieldErrors
		issueFields(&f, c.Agency)
		if err := f.err(); err != nil {
			return nil, err
		}
		if err := b.requireStep(cmd, StepActivationApplied, StepHandedOver); err != nil {
			return nil, err
		}
		return b.movingOn(BatchPickedUp{On: c.On, Agency: c.Agency, Job: b.Jobs + 1}), nil
	case RecordBatchJobProgress:
		if b.Job == nil || b.Job.Seq != c.Job || c.Done > len(b.Job.Items) {
			return nil, Conflict(CodeJobNotRunning, "job %d is not running or has fewer items", c.Job)
		}
		if c.Done <= b.Job.Done {
			return nil, nil // a stretch recorded before
		}
		return []Event{BatchJobProgressed{Job: c.Job, Done: c.Done, CardNos: c.CardNos, Failures: c.Failures}}, nil
	case RetryBatchJob:
		return b.decideRetry(c)
	case CompleteBatchJob:
		if b.Job == nil || b.Job.Seq != c.Job {
			if b.Jobs >= c.Job {
				return nil, nil // already completed: a retry
			}
			return nil, Conflict(CodeJobNotRunning, "job %d is not running", c.Job)
		}
		if b.Job.Done < len(b.Job.Items) {
			return nil, Conflict(CodeJobNotRunning, "job %d has applied %d of %d items", c.Job, b.Job.Done, len(b.Job.Items))
		}
		return []Event{BatchJobCompleted{Job: c.Job}}, nil
	}
	return nil, &Error{Kind: KindInvalid, Code: CodeUnknownCommand, Message: fmt.Sprintf("batch cannot decide %s", cmd.CommandName())}
}

func decideCreateBatch(b *Batch, c CreateBatch) ([]Event, error) {
	if b != nil && b.ID != "" {
		return nil, Conflict(CodeBatchExists, "batch %s exists", b.ID)
	}
	var fe []FieldError
	if !ValidBatchID(c.BatchID) {
		fe = append(fe, FieldError{Field: "batch_id", Code: CodeInvalidValue, Message: "1-40 letters, digits, '-' or '_'"})
	}
	if !datePattern.MatchString(c.CreatedOn) {
		fe = append(fe, FieldError{Field: "created_on", Code: CodeInvalidValue, Message: "YYYY-MM-DD"})
	}
	if len(fe) > 0 {
		return nil, Invalid(fe...)
	}
	if len(c.Members) == 0 {
		return nil, Conflict(CodeBatchEmpty, "no pending application matches the filter")
	}
	seen := make(map[string]bool, len(c.Members))
	for _, m := range c.Members {
		if seen[m.ApplicationID] || seen[m.CardholderID] {
			return nil, Invalid(FieldError{Field: "members", Code: CodeDuplicateLine, Message: "member " + m.ApplicationID + " twice"})
		}
		seen[m.ApplicationID], seen[m.CardholderID] = true, true
	}
	events := []Event{BatchCreated{BatchID: c.BatchID, Filter: c.Filter, MemberCount: len(c.Members), CreatedOn: c.CreatedOn}}
	for start := 0; start < len(c.Members); start += BatchChunk {
		end := min(start+BatchChunk, len(c.Members))
		events = append(events, BatchMembersAdded{Members: c.Members[start:end]})
	}
	return events, nil
}

func (b *Batch) requireStep(cmd Command, allowed ...BatchStep) error {
	if b.Job != nil {
		return Conflict(CodeBatchJobRunning, "%s: job %d (%s) is still being applied (%d of %d)", cmd.CommandName(), b.Job.Seq, b.Job.Kind, b.Job.Done, len(b.Job.Items))
	}
	for _, s := range allowed {
		if b.Step == s {
			return nil
		}
	}
	return Conflict(CodeBatchWrongStep, "%s is not allowed when the batch is %s", cmd.CommandName(), b.Step)
}

// exportStep is the step an export is allowed from and the step it leads to.
var exportStep = map[BatchFileKind][2]BatchStep{
	FileBankOpen:   {StepConfirmed, StepBankExported},
	FileProduction: {StepBankApplied, StepProductionExported},
	FileBankData:   {StepProductionApplied, StepBankDataExported},
}

func (b *Batch) decideExport(c RecordBatchExport) ([]Event, error) {
	steps, ok := exportStep[c.File]
	if !ok {
		return nil, Invalid(FieldError{Field: "file", Code: CodeInvalidValue, Message: "not an export file: " + string(c.File)})
	}
	if prev, done := b.Exports[c.File]; done {
		if prev.SHA256 != c.SHA256 && (prev.Lines != c.Lines || !b.erasedIn(c.File)) {
			return nil, Conflict(CodeExportMismatch, "%s was exported with digest %s, now %s", c.File, prev.SHA256, c.SHA256)
		}
		return nil, nil
	}
	if err := b.requireStep(c, steps[0]); err != nil {
		return nil, err
	}
	return b.movingOn(BatchFileExported{File: c.File, SHA256: c.SHA256, Lines: c.Lines}), nil
}

// movingOn returns the events of a step that takes the batch past the step
// its last job led to: first the release of the members whose item of that
// job failed and was not retried (they can no longer be retried here), then
// the step's own event.
func (b *Batch) movingOn(step Event) []Event {
	var rel BatchMembersReleased
	for _, i := range b.OpenFailures() {
		rel.Members = append(rel.Members, i)
		rel.CardholderIDs = append(rel.CardholderIDs, b.Members[i].CardholderID)
	}
	if len(rel.Members) == 0 {
		return []Event{step}
	}
	return []Event{rel, step}
}

func (b *Batch) decideRetry(c RetryBatchJob) ([]Event, error) {
	if b.Job != nil {
		return nil, b.requireStep(c)
	}
	last := b.LastJob
	if last == nil || last.Seq != c.Job {
		return nil, Conflict(CodeJobNotRetryable, "only the batch's last job (%d) can be retried, not %d", b.Jobs, c.Job)
	}
	if b.Step != appliedStep[last.Kind] {
		return nil, Conflict(CodeJobNotRetryable, "job %d (%s) cannot be retried: the batch moved on to %s", c.Job, last.Kind, b.Step)
	}
	var members []int
	for _, it := range last.Items {
		if f := b.Progress[it.Member].Failure; f != nil && f.Job == last.Seq {
			members = append(members, it.Member)
		}
	}
	if len(members) == 0 {
		return nil, nil // nothing failed, or a retry already did it
	}
	return []Event{BatchJobRetried{Job: b.Jobs + 1, Of: c.Job, Members: members}}, nil
}

// erasedIn reports whether a member in file k was erased: the file made
// again then differs from the one exported by that member's personal
// data, which reads as ErasedMarker.
func (b *Batch) erasedIn(k BatchFileKind) bool {
	for _, i := range b.InFile(k) {
		if b.Members[i].IDNumber == ErasedMarker {
			return true
		}
	}
	return false
}

func (b *Batch) decideHandOver(c HandOverBatch) ([]Event, error) {
	if c.From == "" || c.To == "" || c.Handler == "" {
		return nil, Invalid(FieldError{Field: "from/to/handler", Code: CodeRequired, Message: "from, to and handler are required"})
	}
	// The job hands over every card with these values.
	var f fieldErrors
	handOverFields(&f, c.From, c.To, c.Handler)
	if err := f.err(); err != nil {
		return nil, err
	}
	if err := b.requireStep(c, StepActivationApplied, StepHandedOver); err != nil {
		return nil, err
	}
	if c.From != b.Custody {
		return nil, Conflict(CodeCustodyElsewhere, "the cards are with %s, not %s", b.Custody, c.From)
	}
	return b.movingOn(BatchHandedOver{From: c.From, To: c.To, Handler: c.Handler, Job: b.Jobs + 1}), nil
}

// returnStep is the step a return is accepted in.
var returnStep = map[BatchFileKind]BatchStep{
	FileBankOpenReturn:   StepBankExported,
	FileProductionReturn: StepProductionExported,
	FileBankDataReturn:   StepBankDataExported,
}

func (b *Batch) decideReturn(c AcceptBatchReturn) ([]Event, error) {
	export, ok := c.File.ExportOf()
	if !ok {
		return nil, Invalid(FieldError{Field: "file", Code: CodeWrongFile, Message: "not a return file: " + string(c.File)})
	}
	if prev, done := b.Returns[c.File]; done {
		if prev.SHA256 == c.SHA256 {
			return nil, nil
		}
		return nil, Conflict(CodeReturnDifferent, "a different %s (digest %s) was already accepted", c.File, prev.SHA256)
	}
	if err := b.requireStep(c, returnStep[c.File]); err != nil {
		return nil, err
	}
	rows, problems := b.checkReturn(c, export)
	if len(problems) > 0 {
		return nil, &Error{Kind: KindInvalid, Code: CodeReturnRejected,
			Message: fmt.Sprintf("%s rejected: %d problem(s); nothing was applied", c.File, len(problems)), Fields: problems}
	}
	ev := BatchReturnAccepted{File: c.File, SHA256: c.SHA256, Lines: len(rows)}
	if c.File != FileBankDataReturn {
		ev.Job = b.Jobs + 1
	}
	events := []Event{ev}
	for start := 0; start < len(rows); start += BatchChunk {
		end := min(start+BatchChunk, len(rows))
		events = append(events, BatchReturnRowsAdded{Rows: rows[start:end]})
	}
	return events, nil
}

// checkReturn validates every line against the export it answers and
// returns the rows in file order, or every problem found.
func (b *Batch) checkReturn(c AcceptBatchReturn, export BatchFileKind) ([]ReturnRow, []FieldError) {
	var problems []FieldError
	omitted := 0
	add := func(line int, code, format string, args ...any) {
		if len(problems) == maxReturnProblems {
			omitted++
			return
		}
		problems = append(problems, FieldError{Field: "line " + strconv.Itoa(line), Code: code, Message: fmt.Sprintf(format, args...)})
	}

	if c.BatchID != b.ID {
		add(1, CodeWrongBatch, "the file is for batch %q, not %q", c.BatchID, b.ID)
		return nil, problems
	}
	expected := b.InFile(export)
	want := make(map[int]bool, len(expected))
	for _, i := range expected {
		want[i] = true
	}
	seenAt := make(map[int]int, len(c.Lines))
	rows := make([]ReturnRow, 0, len(c.Lines))
	for _, l := range c.Lines {
		i, known := b.index[l.ApplicationID]
		// An erased member's ID number reads as ErasedMarker while the file
		// answers an export made before the erasure: the application alone
		// identifies the line then.
		if !known || !want[i] || b.Members[i].IDNumber != l.IDNumber && b.Members[i].IDNumber != ErasedMarker {
			add(l.Line, CodeUnknownPerson, "application %s / id %s is not in this batch's %s file", l.ApplicationID, MaskIDNumber(l.IDNumber), export)
			continue
		}
		if first, dup := seenAt[i]; dup {
			add(l.Line, CodeDuplicateLine, "application %s already on line %d", l.ApplicationID, first)
			continue
		}
		seenAt[i] = l.Line
		if export != FileBankOpen && l.CardNo != b.Progress[i].CardNo {
			add(l.Line, CodeMismatch, "card number %s, the batch has %s", l.CardNo, b.Progress[i].CardNo)
			continue
		}
		row := ReturnRow{Member: i, OK: l.OK, Reason: l.Reason}
		if c.File == FileProductionReturn && l.OK && !chipIDPattern.MatchString(l.ChipID) {
			// The file contract is stricter than the domain (upper case only).
			add(l.Line, CodeInvalidChipID, "chip id %q is not 32 upper-case hex digits", l.ChipID)
			continue
		}
		if fe := b.returnLineFields(c.File, i, l); len(fe) > 0 {
			for _, e := range fe {
				add(l.Line, e.Code, "%s", e.Message)
			}
			continue
		}
		switch {
		case l.OK && c.File == FileBankOpenReturn:
			row.AccountNo = l.AccountNo
		case l.OK && c.File == FileProductionReturn:
			row.ChipID = l.ChipID
		}
		rows = append(rows, row)
	}
	for _, i := range expected {
		if _, ok := seenAt[i]; !ok {
			add(0, CodeMissingPerson, "application %s (%s) has no line", b.Members[i].ApplicationID, MaskIDNumber(b.Members[i].IDNumber))
		}
	}
	if omitted > 0 {
		problems = append(problems, FieldError{Field: "file", Code: CodeMoreProblems, Message: fmt.Sprintf("%d more problems not listed", omitted)})
	}
	return rows, problems
}

// returnLineFields checks a line with the field checks of the cardholder
// command its job will decide for the member (the bank code is the
// member's, as the job sends it): a value the cardholder stream would
// refuse rejects the file now instead of failing the person later.
func (b *Batch) returnLineFields(file BatchFileKind, member int, l ReturnLine) fieldErrors {
	var f fieldErrors
	switch {
	case file == FileBankOpenReturn && l.OK:
		openAccountFields(&f, b.Members[member].BankCode, l.AccountNo)
	case file == FileBankOpenReturn:
		refuseAccountFields(&f, b.Members[member].BankCode, l.Reason)
	case file == FileProductionReturn && l.OK:
		productionFields(&f, l.ChipID, "")
	case file == FileProductionReturn:
		productionFailureFields(&f, l.Reason)
	case !l.OK:
		// The bank's activation refusal goes to no cardholder stream, but
		// its reason is held to the same rule as every other refusal.
		productionFailureFields(&f, l.Reason)
	}
	return f
}
