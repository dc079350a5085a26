package domain

import "fmt"

// The batch aggregate. A batch takes pending applications through the file
// round-trips with the bank and the card vendor, strictly in this order:
//
//	created → reviewed → confirmed
//	→ bank_exported → (bank return accepted, job applies it) → bank_applied
//	→ production_exported → (vendor return accepted, job) → production_applied
//	→ bank_data_exported → (bank activation return accepted) → activation_applied
//	→ [hand over, job]* → (pick up, job) → closed
//
// Invariants:
//   - A step is allowed only from the step before it; a second try of the
//     step just taken with the same content decides no events (idempotent).
//   - While a job runs (its outcomes are being applied to cardholder streams
//     by the process manager) no other step is allowed.
//   - A return file is accepted whole or not at all: every detail line must
//     name a person of the matching export exactly once, and every person of
//     that export must appear.
//   - Members whose bank account was refused or whose production failed drop
//     out of the later files; their applications are pending again.
//   - A member's stage moves only when a job's progress records that its
//     outcome reached the cardholder stream; an item the stream refused
//     leaves the stage where it was and records the failure against the
//     member, to be retried (RetryBatchJob) while the batch is still at the
//     step the job led to; the step that moves the batch on releases the
//     members still failed (BatchMembersReleased), like refused ones.

// BatchStep is where a batch is in its workflow.
type BatchStep string

const (
	StepCreated            BatchStep = "created"
	StepReviewed           BatchStep = "reviewed"
	StepConfirmed          BatchStep = "confirmed"
	StepBankExported       BatchStep = "bank_exported"
	StepBankApplying       BatchStep = "bank_applying"
	StepBankApplied        BatchStep = "bank_applied"
	StepProductionExported BatchStep = "production_exported"
	StepProductionApplying BatchStep = "production_applying"
	StepProductionApplied  BatchStep = "production_applied"
	StepBankDataExported   BatchStep = "bank_data_exported"
	StepActivationApplied  BatchStep = "activation_applied"
	StepHandingOver        BatchStep = "handing_over"
	StepHandedOver         BatchStep = "handed_over"
	StepPickingUp          BatchStep = "picking_up"
	StepClosed             BatchStep = "closed"
)

// BatchFileKind names an exchange file; the formats are in docs/batch-files.md.
type BatchFileKind string

const (
	FileBankOpen         BatchFileKind = "bank_open"         // 预开户数据, to the bank
	FileBankOpenReturn   BatchFileKind = "bank_open_return"  // 预开户回盘, from the bank
	FileProduction       BatchFileKind = "production"        // 制卡数据, to the vendor
	FileProductionReturn BatchFileKind = "production_return" // 制卡回盘, from the vendor
	FileBankData         BatchFileKind = "bank_data"         // 银行数据, to the bank
	FileBankDataReturn   BatchFileKind = "bank_data_return"  // 银行回盘, from the bank
)

// ReturnOf gives the return file that answers an export, and true.
func (k BatchFileKind) ReturnOf() (BatchFileKind, bool) {
	switch k {
	case FileBankOpen:
		return FileBankOpenReturn, true
	case FileProduction:
		return FileProductionReturn, true
	case FileBankData:
		return FileBankDataReturn, true
	}
	return "", false
}

// ExportOf gives the export a return file answers, and true.
func (k BatchFileKind) ExportOf() (BatchFileKind, bool) {
	switch k {
	case FileBankOpenReturn:
		return FileBankOpen, true
	case FileProductionReturn:
		return FileProduction, true
	case FileBankDataReturn:
		return FileBankData, true
	}
	return "", false
}

func (k BatchFileKind) Valid() bool {
	_, ret := k.ReturnOf()
	_, exp := k.ExportOf()
	return ret || exp
}

// MemberStage is how far one member of a batch got.
type MemberStage string

const (
	MemberSelected         MemberStage = "selected"
	MemberAccountOpened    MemberStage = "account_opened"
	MemberAccountRefused   MemberStage = "account_refused"
	MemberProduced         MemberStage = "produced"
	MemberProductionFailed MemberStage = "production_failed"
	MemberIssued           MemberStage = "issued"
	// MemberReleased: the member's item of a job failed and was not
	// retried before the batch moved on; the member left the batch.
	MemberReleased MemberStage = "released"
)

// Dropped reports whether the member left the batch (its application is
// pending again, with the reason).
func (s MemberStage) Dropped() bool {
	return s == MemberAccountRefused || s == MemberProductionFailed || s == MemberReleased
}

// MemberProgress is what the batch knows about one member.
type MemberProgress struct {
	Stage         MemberStage `json:"stage"`
	AccountNo     string      `json:"account_no,omitempty"`
	CardNo        string      `json:"card_no,omitempty"`
	ChipID        string      `json:"chip_id,omitempty"`
	BankConfirmed bool        `json:"bank_confirmed"` // the bank's activation return said yes
	Custody       string      `json:"custody,omitempty"`
	Reason        string      `json:"reason,omitempty"` // why the member dropped out or the bank said no
	// Failure is set while the member's share of a job could not be applied
	// to its cardholder stream (the stage is then still the one before the
	// job); a retry that succeeds clears it.
	Failure *JobFailure `json:"failure,omitempty"`
}

// JobKind is what a job does to each of its members' cardholder streams.
type JobKind string

const (
	JobBankReturn       JobKind = "bank_return"       // open account + assign card number, or refuse
	JobProductionReturn JobKind = "production_return" // record production or its failure
	JobHandOver         JobKind = "hand_over"         // hand over each produced card
	JobPickUp           JobKind = "pick_up"           // issue (and activate) each produced card
)

// BatchJob is per-person work the process manager applies to cardholder
// streams, item by item, recording progress in the batch stream.
type BatchJob struct {
	Seq   int
	Kind  JobKind
	Items []JobItem
	Done  int // items [0, Done) are applied
	// RetryOf is the job whose failed items this job applies again (0: none).
	RetryOf int
	// Origin is the job that first had these items (Seq unless a retry):
	// an item keeps its command id across retries, so one that did reach
	// its stream before is recognised there and not written again.
	Origin int
	// Hand-over and pick-up parameters.
	From, To, Handler string
	On, Agency        string
}

// JobItem is one member's share of a job.
type JobItem struct {
	Member int
	Row    ReturnRow // for return jobs
}

// Batch is the state of a batch, rebuilt from its events.
type Batch struct {
	ID        string
	Step      BatchStep
	Filter    BatchFilter
	CreatedOn string
	Members   []BatchMember
	Progress  []MemberProgress
	Reviewer  string
	Exports   map[BatchFileKind]BatchFileExported
	Returns   map[BatchFileKind]BatchReturnAccepted
	Job       *BatchJob // the running job, nil when none runs
	Jobs      int       // jobs started so far; the next one is Jobs+1
	Custody   string    // where the batch's produced cards are
	PickedUp  *BatchPickedUp
	Failures  []JobFailure // items cardholder streams refused, over all jobs
	// History has one record per job, in order (History[i].Seq == i+1).
	History []JobRecord
	// LastJob is the last finished job, the one RetryBatchJob may retry.
	LastJob *BatchJob
	index   map[string]int
}

// JobRecord is what is known of one job, running or finished: counts
// derived from the recorded progress, never from the file alone.
type JobRecord struct {
	Seq     int     `json:"job"`
	Kind    JobKind `json:"kind"`
	RetryOf int     `json:"retry_of,omitempty"`
	Items   int     `json:"items"`
	Done    int     `json:"done"`
	// Outcomes counts the applied items by what they became: the member
	// stage reached (account_opened, account_refused, produced,
	// production_failed, issued), OutcomeHandedOver, or OutcomeFailed.
	Outcomes map[string]int `json:"outcomes"`
	Failures []JobFailure   `json:"failures"`
	Finished bool           `json:"finished"`
}

// Outcomes of job items besides member stages.
const (
	OutcomeHandedOver = "handed_over"
	OutcomeFailed     = "failed"
)

// JobRecord returns the record of job seq.
func (b *Batch) JobRecord(seq int) (*JobRecord, bool) {
	if seq < 1 || seq > len(b.History) {
		return nil, false
	}
	return &b.History[seq-1], true
}

// OpenFailures lists the members whose last job item failed and was not
// applied since, in batch order.
func (b *Batch) OpenFailures() []int {
	var out []int
	for i, p := range b.Progress {
		if p.Failure != nil {
			out = append(out, i)
		}
	}
	return out
}

// MemberIndex returns the position of the member with this application id.
func (b *Batch) MemberIndex(applicationID string) (int, bool) {
	i, ok := b.index[applicationID]
	return i, ok
}

// InFile lists, in batch order, the members that belong in an export of
// kind k. The selection stays the same after later steps, so an export can
// be generated again, byte for byte, at any time after it was first made.
func (b *Batch) InFile(k BatchFileKind) []int {
	var out []int
	for i, m := range b.Members {
		p := b.Progress[i]
		var in bool
		switch k {
		case FileBankOpen:
			in = m.AccountNo == ""
		case FileProduction:
			in = p.Stage != MemberSelected && p.Stage != MemberAccountRefused && p.CardNo != ""
		case FileBankData:
			in = p.Stage == MemberProduced || p.Stage == MemberIssued
		}
		if in {
			out = append(out, i)
		}
	}
	return out
}

// Produced lists the members whose card was produced, in batch order.
func (b *Batch) Produced() []int {
	var out []int
	for i, p := range b.Progress {
		if p.Stage == MemberProduced || p.Stage == MemberIssued {
			out = append(out, i)
		}
	}
	return out
}

// Apply folds one event into b. It never fails on events Decide made;
// an unknown event is an error because it means the code is older than the data.
func (b *Batch) Apply(e Event) error {
	switch e := e.(type) {
	case BatchCreated:
		b.ID, b.Filter, b.CreatedOn, b.Step = e.BatchID, e.Filter, e.CreatedOn, StepCreated
		b.Exports = map[BatchFileKind]BatchFileExported{}
		b.Returns = map[BatchFileKind]BatchReturnAccepted{}
		b.index = map[string]int{}
	case BatchMembersAdded:
		for _, m := range e.Members {
			b.index[m.ApplicationID] = len(b.Members)
			b.Members = append(b.Members, m)
			p := MemberProgress{Stage: MemberSelected}
			if m.AccountNo != "" {
				p.Stage, p.AccountNo, p.CardNo = MemberAccountOpened, m.AccountNo, m.CardNo
			}
			b.Progress = append(b.Progress, p)
		}
	case BatchReviewed:
		b.Step, b.Reviewer = StepReviewed, e.Reviewer
	case BatchConfirmed:
		b.Step = StepConfirmed
	case BatchFileExported:
		b.Exports[e.File] = e
		switch e.File {
		case FileBankOpen:
			b.Step = StepBankExported
		case FileProduction:
			b.Step = StepProductionExported
		case FileBankData:
			b.Step = StepBankDataExported
		}
	case BatchReturnAccepted:
		b.Returns[e.File] = e
		switch e.File {
		case FileBankOpenReturn:
			b.startJob(e.Job, JobBankReturn, StepBankApplying)
		case FileProductionReturn:
			b.startJob(e.Job, JobProductionReturn, StepProductionApplying)
		case FileBankDataReturn:
			// The bank's activation return changes no cardholder stream by
			// itself: it decides whether pick-up activates the card.
			b.Step = StepActivationApplied
		}
	case BatchReturnRowsAdded:
		for _, r := range e.Rows {
			b.applyReturnRow(r)
		}
	case BatchHandedOver:
		b.startJob(e.Job, JobHandOver, StepHandingOver)
		b.Job.From, b.Job.To, b.Job.Handler = e.From, e.To, e.Handler
		for _, i := range b.Produced() {
			b.Job.Items = append(b.Job.Items, JobItem{Member: i})
		}
		b.History[e.Job-1].Items = len(b.Job.Items)
	case BatchPickedUp:
		b.startJob(e.Job, JobPickUp, StepPickingUp)
		b.Job.On, b.Job.Agency = e.On, e.Agency
		pu := e
		b.PickedUp = &pu
		for _, i := range b.Produced() {
			b.Job.Items = append(b.Job.Items, JobItem{Member: i})
		}
		b.History[e.Job-1].Items = len(b.Job.Items)
	case BatchJobRetried:
		last := b.LastJob
		if last == nil || last.Seq != e.Of {
			return fmt.Errorf("batch %s: retry of job %d, which is not the last one", b.ID, e.Of)
		}
		b.startJob(e.Job, last.Kind, applyingStep[last.Kind])
		b.Job.RetryOf, b.Job.Origin, b.History[e.Job-1].RetryOf = e.Of, last.Origin, e.Of
		b.Job.From, b.Job.To, b.Job.Handler, b.Job.On, b.Job.Agency = last.From, last.To, last.Handler, last.On, last.Agency
		retry := make(map[int]bool, len(e.Members))
		for _, m := range e.Members {
			retry[m] = true
		}
		for _, it := range last.Items {
			if retry[it.Member] {
				b.Job.Items = append(b.Job.Items, it)
			}
		}
		b.History[e.Job-1].Items = len(b.Job.Items)
	case BatchMembersReleased:
		for _, i := range e.Members {
			p := &b.Progress[i]
			if p.Failure != nil {
				p.Reason = p.Failure.Reason
			}
			p.Stage, p.Failure = MemberReleased, nil
		}
	case BatchJobProgressed:
		if b.Job == nil || b.Job.Seq != e.Job || e.Done > len(b.Job.Items) {
			return fmt.Errorf("batch %s: progress of job %d, which is not running", b.ID, e.Job)
		}
		b.progress(e)
	case BatchJobCompleted:
		if b.Job == nil || b.Job.Seq != e.Job {
			return fmt.Errorf("batch %s: completion of job %d, which is not running", b.ID, e.Job)
		}
		b.finishJob()
	default:
		return fmt.Errorf("batch %s: unknown event %T", b.ID, e)
	}
	return nil
}

func (b *Batch) startJob(seq int, kind JobKind, step BatchStep) {
	b.Jobs = seq
	b.Job = &BatchJob{Seq: seq, Kind: kind, Origin: seq}
	b.Step = step
	for len(b.History) < seq {
		b.History = append(b.History, JobRecord{Seq: len(b.History) + 1, Outcomes: map[string]int{}, Failures: []JobFailure{}})
	}
	b.History[seq-1].Kind = kind
}

// applyingStep is the step a batch is in while a job of each kind runs;
// appliedStep the one the job leads to.
var (
	applyingStep = map[JobKind]BatchStep{JobBankReturn: StepBankApplying, JobProductionReturn: StepProductionApplying,
		JobHandOver: StepHandingOver, JobPickUp: StepPickingUp}
	appliedStep = map[JobKind]BatchStep{JobBankReturn: StepBankApplied, JobProductionReturn: StepProductionApplied,
		JobHandOver: StepHandedOver, JobPickUp: StepClosed}
)

// progress records items [Job.Done, e.Done): each either reached its
// cardholder stream (the member moves on) or failed (recorded against the
// member, whose stage stays).
func (b *Batch) progress(e BatchJobProgressed) {
	j, rec := b.Job, &b.History[b.Job.Seq-1]
	failed := make(map[int]JobFailure, len(e.Failures))
	for _, f := range e.Failures {
		failed[f.Member] = f
	}
	for _, it := range j.Items[min(j.Done, e.Done):e.Done] {
		p := &b.Progress[it.Member]
		if f, ok := failed[it.Member]; ok {
			p.Failure = &f
			rec.Outcomes[OutcomeFailed]++
			continue
		}
		p.Failure = nil
		rec.Outcomes[b.applyOutcome(j, it)]++
	}
	j.Done, rec.Done = e.Done, e.Done
	for _, a := range e.CardNos {
		b.Progress[a.Member].CardNo = a.CardNo
	}
	b.Failures = append(b.Failures, e.Failures...)
	rec.Failures = append(rec.Failures, e.Failures...)
}

// applyOutcome moves a member whose job item reached its cardholder stream
// and names the outcome.
func (b *Batch) applyOutcome(j *BatchJob, it JobItem) string {
	p, r := &b.Progress[it.Member], it.Row
	switch j.Kind {
	case JobBankReturn:
		if r.OK {
			p.Stage, p.AccountNo = MemberAccountOpened, r.AccountNo
		} else {
			p.Stage, p.Reason = MemberAccountRefused, r.Reason
		}
	case JobProductionReturn:
		if r.OK {
			p.Stage, p.ChipID, p.Custody = MemberProduced, r.ChipID, CustodyVendor
		} else {
			p.Stage, p.Reason = MemberProductionFailed, r.Reason
		}
	case JobHandOver:
		p.Custody = j.To
		return OutcomeHandedOver
	case JobPickUp:
		p.Stage, p.Custody = MemberIssued, ""
	}
	return string(p.Stage)
}

func (b *Batch) applyReturnRow(r ReturnRow) {
	p := &b.Progress[r.Member]
	if b.Job != nil && (b.Job.Kind == JobBankReturn || b.Job.Kind == JobProductionReturn) {
		b.Job.Items = append(b.Job.Items, JobItem{Member: r.Member, Row: r})
	}
	if b.Job != nil {
		b.History[b.Job.Seq-1].Items = len(b.Job.Items)
		return // the stage moves when the job's progress records the item
	}
	switch b.Step {
	case StepActivationApplied:
		p.BankConfirmed = r.OK
		if !r.OK {
			p.Reason = r.Reason
		}
	}
}

func (b *Batch) finishJob() {
	j := b.Job
	b.Job, b.LastJob = nil, j
	b.History[j.Seq-1].Finished = true
	b.Step = appliedStep[j.Kind]
	switch j.Kind {
	case JobProductionReturn:
		b.Custody = CustodyVendor
	case JobHandOver:
		b.Custody = j.To
	}
}

// CustodyVendor is where a card is right after production: with the vendor
// that made it.
const CustodyVendor = "vendor"
