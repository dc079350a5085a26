package domain

// Commands of the batch aggregate. Like the cardholder commands they carry
// every value chosen outside the domain (ids, dates, parsed file lines).

type CreateBatch struct {
	BatchID   string
	Filter    BatchFilter
	CreatedOn string // YYYY-MM-DD
	Members   []BatchMember
}

type ReviewBatch struct {
	Reviewer string
	Note     string
}

type ConfirmBatch struct {
	ConfirmedBy string
}

// RecordBatchExport records that an export file was generated. Generating
// it again (same digest) decides nothing.
type RecordBatchExport struct {
	File   BatchFileKind
	SHA256 string
	Lines  int
}

// AcceptBatchReturn offers a parsed return file. The file's own framing
// (header, trailer, checksum) was checked by the parser; Decide checks that
// its lines match the batch.
type AcceptBatchReturn struct {
	File    BatchFileKind
	BatchID string // from the file header
	SHA256  string // of the whole file
	Lines   []ReturnLine
}

// ReturnLine is a detail line of a return file as parsed.
type ReturnLine struct {
	Line          int // line number in the file, for the report
	ApplicationID string
	IDNumber      string
	CardNo        string // production and bank-data returns name the card too
	OK            bool
	AccountNo     string
	ChipID        string
	Reason        string
}

type HandOverBatch struct {
	From    string
	To      string
	Handler string
}

type PickUpBatch struct {
	On     string // YYYY-MM-DD
	Agency string
}

// RecordBatchJobProgress is sent by the process manager after it applied
// items [0, Done) of job Job.
type RecordBatchJobProgress struct {
	Job      int
	Done     int
	CardNos  []CardAssignment
	Failures []JobFailure
}

type CompleteBatchJob struct {
	Job int
}

// RetryBatchJob applies again the failed items of job Job, which must be
// the batch's last job, finished, with the batch still at the step it led to.
type RetryBatchJob struct {
	Job int
}

func (CreateBatch) CommandName() string            { return "create_batch" }
func (ReviewBatch) CommandName() string            { return "review_batch" }
func (ConfirmBatch) CommandName() string           { return "confirm_batch" }
func (RecordBatchExport) CommandName() string      { return "record_batch_export" }
func (AcceptBatchReturn) CommandName() string      { return "accept_batch_return" }
func (HandOverBatch) CommandName() string          { return "hand_over_batch" }
func (PickUpBatch) CommandName() string            { return "pick_up_batch" }
func (RecordBatchJobProgress) CommandName() string { return "record_batch_job_progress" }
func (CompleteBatchJob) CommandName() string       { return "complete_batch_job" }
func (RetryBatchJob) CommandName() string          { return "retry_batch_job" }
