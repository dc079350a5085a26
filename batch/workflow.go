package batch

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// createLockKey serialises batch creation across processes ("clbcr"), so
// two batches never select the same pending application.
const createLockKey = 0x63_6c_62_63_72

// CreateBatch selects the pending applications matching filter that are in
// no other batch and opens a batch over them. An empty batchID gets a
// generated one. The batch's members are written in the one append that
// creates it, so a batch takes at most the first applications (in the
// filter's order) whose members fit in eventstore.MaxAppendSize as stored:
// about 1,800 people sealed. The others stay pending for the next batch.
func (s *Service) CreateBatch(ctx context.Context, batchID string, filter domain.BatchFilter) (*domain.Batch, error) {
	if batchID == "" {
		var r [3]byte
		_, _ = rand.Read(r[:])
		batchID = "B" + s.clock().Format("20060102") + "-" + strings.ToUpper(hex.EncodeToString(r[:]))
	}
	if !domain.ValidBatchID(batchID) {
		return nil, domain.Invalid(domain.FieldError{Field: "batch_id", Code: domain.CodeInvalidValue, Message: "1-40 letters, digits, '-' or '_'"})
	}
	if filter.Source != "" && !filter.Source.Valid() || filter.Kind != "" && !filter.Kind.Valid() {
		return nil, domain.Invalid(domain.FieldError{Field: "filter", Code: domain.CodeInvalidValue, Message: "unknown source or kind"})
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("create batch: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(createLockKey)); err != nil {
		return nil, fmt.Errorf("create batch: lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(createLockKey))
	}()
	if err := s.catchUp(ctx); err != nil {
		return nil, err
	}
	members, err := s.readModel.Pending(ctx, filter)
	if err != nil {
		return nil, err
	}
	create := domain.CreateBatch{BatchID: batchID, Filter: filter, CreatedOn: s.clock().Format(domain.DateLayout), Members: members}
	b, _, err := s.updateBatch(ctx, batchID, create)
	// The members are written in the append that creates the batch, and
	// one append carries at most eventstore.MaxAppendSize bytes as stored
	// (sealed): take the first members that fit, the rest stay pending.
	// A refused append wrote nothing, so deciding again is safe.
	var tooLarge *eventstore.AppendTooLargeError
	for range 20 {
		if !errors.As(err, &tooLarge) || len(create.Members) <= 1 {
			break
		}
		create.Members = create.Members[:fitting(len(create.Members), tooLarge)]
		b, _, err = s.updateBatch(ctx, batchID, create)
	}
	if err != nil {
		return nil, err
	}
	// Mark the members as taken before the lock goes to the next creator.
	if err := s.catchUp(ctx); err != nil {
		return nil, err
	}
	return b, nil
}

// fitting is how many of n members to try after n were refused as too
// large: in proportion to the sizes, with 2% to spare, or half when the
// server did not say the size.
func fitting(n int, e *eventstore.AppendTooLargeError) int {
	k := n / 2
	if e.Size > e.Max {
		k = int(int64(n) * int64(e.Max) / int64(e.Size) * 98 / 100)
	}
	return max(1, min(k, n-1))
}

// Review records that reviewer checked the batch.
func (s *Service) Review(ctx context.Context, batchID, reviewer, note string) (*domain.Batch, error) {
	b, _, err := s.updateBatch(ctx, batchID, domain.ReviewBatch{Reviewer: reviewer, Note: note})
	return b, err
}

// Confirm makes the batch final.
func (s *Service) Confirm(ctx context.Context, batchID, by string) (*domain.Batch, error) {
	b, _, err := s.updateBatch(ctx, batchID, domain.ConfirmBatch{ConfirmedBy: by})
	return b, err
}

// Export generates export file kind of the batch and records it; asking
// again gives the same bytes.
func (s *Service) Export(ctx context.Context, batchID string, kind domain.BatchFileKind) ([]byte, error) {
	if _, ok := kind.ReturnOf(); !ok {
		return nil, domain.Invalid(domain.FieldError{Field: "file", Code: domain.CodeInvalidValue, Message: "not an export: " + string(kind)})
	}
	b, err := s.getBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	f, err := files.Export(b, kind, s.photoOf(ctx))
	if err != nil {
		return nil, err
	}
	data, err := f.Encode()
	if err != nil {
		return nil, err
	}
	if _, _, err := s.updateBatch(ctx, batchID, domain.RecordBatchExport{File: kind, SHA256: f.SHA256, Lines: len(f.Records)}); err != nil {
		return nil, err
	}
	return data, nil
}

// ReturnReport is the outcome of offering a return file.
type ReturnReport struct {
	BatchID  string               `json:"batch_id"`
	File     domain.BatchFileKind `json:"file"`
	SHA256   string               `json:"sha256"`
	Lines    int                  `json:"lines"`
	OK       int                  `json:"ok"`
	Failed   int                  `json:"failed"`
	Accepted bool                 `json:"accepted"`
	// AlreadyAccepted: this very file was accepted before; nothing new.
	AlreadyAccepted bool                `json:"already_accepted,omitempty"`
	Problems        []domain.FieldError `json:"problems,omitempty"`
	Job             *JobStatus          `json:"job,omitempty"`
}

// ImportReturn is AcceptReturn, then the job applied here and now (the
// CLI; the server leaves it to its job worker).
func (s *Service) ImportReturn(ctx context.Context, data []byte) (*ReturnReport, error) {
	rep, err := s.AcceptReturn(ctx, data)
	if err != nil || rep.Job == nil || rep.Job.State != JobRunning {
		return rep, err
	}
	job, err := s.RunJobs(ctx, rep.BatchID)
	if job != nil {
		rep.Job = job
	}
	return rep, err
}

// AcceptReturn checks a return file whole (framing, then every line against
// its batch with the rules its job will meet) and, if it is right, records
// it; the job that applies its outcomes to the cardholder streams is handed
// to the worker, and the report carries its status. A rejected file changes
// nothing; the error is a *domain.Error with code return_rejected whose
// Fields list every problem by line, and the report says the same.
func (s *Service) AcceptReturn(ctx context.Context, data []byte) (*ReturnReport, error) {
	f, err := files.Parse(data)
	var fe *files.FormatError
	if errors.As(err, &fe) {
		return rejected(&ReturnReport{BatchID: fe.BatchID, File: fe.Kind}, framingProblems(fe.Problems))
	}
	if err != nil {
		return nil, err
	}
	rep := &ReturnReport{BatchID: f.BatchID, File: f.Kind, SHA256: f.SHA256, Lines: len(f.Records)}
	if _, ok := f.Kind.ExportOf(); !ok {
		return rejected(rep, []domain.FieldError{{Field: "line 1", Code: domain.CodeWrongFile, Message: string(f.Kind) + " is an export, not a return file"}})
	}
	cmd, probs := files.ReturnCommand(f)
	if len(probs) > 0 {
		return rejected(rep, framingProblems(probs))
	}
	for _, l := range cmd.Lines {
		if l.OK {
			rep.OK++
		} else {
			rep.Failed++
		}
	}
	if !domain.ValidBatchID(f.BatchID) {
		return rejected(rep, []domain.FieldError{{Field: "line 1", Code: domain.CodeWrongBatch, Message: fmt.Sprintf("no batch %q", f.BatchID)}})
	}
	l, err := s.loadBatch(ctx, f.BatchID)
	if err != nil {
		return nil, err
	}
	if !l.exists {
		return rejected(rep, []domain.FieldError{{Field: "line 1", Code: domain.CodeWrongBatch, Message: fmt.Sprintf("no batch %q", f.BatchID)}})
	}
	b, events, err := s.updateBatch(ctx, f.BatchID, cmd)
	if de, ok := domain.AsError(err); ok && de.Code == domain.CodeReturnRejected {
		return rejected(rep, de.Fields)
	}
	if err != nil {
		return rep, err
	}
	rep.Accepted, rep.AlreadyAccepted = true, len(events) == 0
	if seq := b.Returns[f.Kind].Job; seq != 0 {
		rep.Job = jobStatus(b, seq)
		s.wakeWorker()
	}
	return rep, nil
}

func rejected(rep *ReturnReport, problems []domain.FieldError) (*ReturnReport, error) {
	rep.Problems = problems
	return rep, &domain.Error{Kind: domain.KindInvalid, Code: domain.CodeReturnRejected,
		Message: fmt.Sprintf("return file rejected: %d problem(s); nothing was applied", len(problems)), Fields: problems}
}

func framingProblems(ps []files.Problem) []domain.FieldError {
	out := make([]domain.FieldError, len(ps))
	for i, p := range ps {
		out[i] = domain.FieldError{Field: fmt.Sprintf("line %d", p.Line), Code: p.Code, Message: p.Message}
	}
	return out
}

// HandOver moves the batch's produced cards from one custodian to the next
// and applies the handover to every card.
func (s *Service) HandOver(ctx context.Context, batchID, from, to, handler string) (*JobStatus, error) {
	if _, err := s.StartHandOver(ctx, batchID, from, to, handler); err != nil {
		return nil, err
	}
	return s.runOrStatus(ctx, batchID)
}

// PickUp issues the batch's produced cards to agency on date on (and
// activates those the bank confirmed).
func (s *Service) PickUp(ctx context.Context, batchID, on, agency string) (*JobStatus, error) {
	if _, err := s.StartPickUp(ctx, batchID, on, agency); err != nil {
		return nil, err
	}
	return s.runOrStatus(ctx, batchID)
}
