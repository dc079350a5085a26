package batch

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"

	"github.com/cardledger/cardledger/domain"
)

// Job states in a JobStatus.
const (
	JobRunning  = "running"
	JobFinished = "finished"
)

// JobStatus is the job resource: how far a job got and what each applied
// item became, all derived from the progress recorded in the batch stream.
type JobStatus struct {
	BatchID string         `json:"batch_id"`
	Job     int            `json:"job"`
	Kind    domain.JobKind `json:"kind"`
	RetryOf int            `json:"retry_of,omitempty"`
	State   string         `json:"state"` // running or finished
	Items   int            `json:"items"`
	Done    int            `json:"done"`
	// Counts has the applied items by outcome: the stage the member
	// reached (account_opened, account_refused, produced,
	// production_failed, issued), handed_over, or failed (its cardholder
	// stream refused it; see Failures).
	Counts   map[string]int  `json:"counts"`
	Failures []MemberFailure `json:"failures"`
	// Retryable: POST .../jobs/{job}/retry would apply failed items again
	// (the job is the batch's last and the batch has not moved on).
	Retryable bool   `json:"retryable"`
	Elapsed   string `json:"elapsed,omitempty"`
}

// CodeJobNotFound: the batch has no job with that number.
const CodeJobNotFound = "batch_job_not_found"

// ErrJobBusy: another runner (a server's job worker or a CLI) is applying
// the batch's job right now.
var ErrJobBusy = errors.New("the batch's job is being applied by another runner")

// jobStatus builds the status of job seq of b (nil if there is none).
func jobStatus(b *domain.Batch, seq int) *JobStatus {
	rec, ok := b.JobRecord(seq)
	if !ok {
		return nil
	}
	st := &JobStatus{BatchID: b.ID, Job: rec.Seq, Kind: rec.Kind, RetryOf: rec.RetryOf, State: JobRunning,
		Items: rec.Items, Done: rec.Done, Counts: map[string]int{}, Failures: []MemberFailure{}}
	if rec.Finished {
		st.State = JobFinished
	}
	for k, v := range rec.Outcomes {
		st.Counts[k] = v
	}
	for _, f := range rec.Failures {
		st.Failures = append(st.Failures, memberFailure(b, f))
	}
	events, err := domain.DecideBatch(b, domain.RetryBatchJob{Job: seq})
	st.Retryable = err == nil && len(events) > 0
	return st
}

func memberFailure(b *domain.Batch, f domain.JobFailure) MemberFailure {
	m := b.Members[f.Member]
	return MemberFailure{ApplicationID: m.ApplicationID, CardholderID: m.CardholderID, Stage: b.Progress[f.Member].Stage,
		Job: f.Job, Code: f.Code, Reason: f.Reason}
}

// Job returns the status of job seq of the batch.
func (s *Service) Job(ctx context.Context, batchID string, seq int) (*JobStatus, error) {
	b, err := s.getBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	st := jobStatus(b, seq)
	if st == nil {
		return nil, domain.NotFound(CodeJobNotFound, "batch %s has no job %d", batchID, seq)
	}
	return st, nil
}

// startJob records cmd, which starts a job, and hands the job to the
// worker; it returns the status of the batch's running or last job.
func (s *Service) startJob(ctx context.Context, batchID string, cmd domain.BatchCommand) (*JobStatus, error) {
	b, _, err := s.updateBatch(ctx, batchID, cmd)
	if err != nil {
		return nil, err
	}
	s.wakeWorker()
	return jobStatus(b, b.Jobs), nil
}

// StartHandOver records the hand-over; the worker applies it to every card.
func (s *Service) StartHandOver(ctx context.Context, batchID, from, to, handler string) (*JobStatus, error) {
	return s.startJob(ctx, batchID, domain.HandOverBatch{From: from, To: to, Handler: handler})
}

// StartPickUp records the pick-up; the worker issues every card.
func (s *Service) StartPickUp(ctx context.Context, batchID, on, agency string) (*JobStatus, error) {
	return s.startJob(ctx, batchID, domain.PickUpBatch{On: on, Agency: agency})
}

// StartRetry starts a job that applies again the failed items of job seq;
// with nothing to retry it returns job seq's status.
func (s *Service) StartRetry(ctx context.Context, batchID string, seq int) (*JobStatus, error) {
	return s.startJob(ctx, batchID, domain.RetryBatchJob{Job: seq})
}

// Retry retries job seq's failed items and applies them now (the CLI).
func (s *Service) Retry(ctx context.Context, batchID string, seq int) (*JobStatus, error) {
	if _, err := s.StartRetry(ctx, batchID, seq); err != nil {
		return nil, err
	}
	return s.runOrStatus(ctx, batchID)
}

// runOrStatus applies the running job, or returns the last job's status
// when none is running.
func (s *Service) runOrStatus(ctx context.Context, batchID string) (*JobStatus, error) {
	st, err := s.RunJobs(ctx, batchID)
	if st != nil || err != nil {
		return st, err
	}
	b, err := s.getBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	return jobStatus(b, b.Jobs), nil
}

// jobLockKey is the advisory lock of one batch's job.
func jobLockKey(batchID string) int64 {
	h := fnv.New64a()
	h.Write([]byte("cardledger.batch.job." + batchID))
	return int64(h.Sum64())
}

// lockJob takes the batch's job lock on a pooled connection, without
// waiting: ErrJobBusy when another runner holds it. The lock lives with
// the connection, so a runner that dies releases it.
func (s *Service) lockJob(ctx context.Context, batchID string) (func(), error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock job of %s: %w", batchID, err)
	}
	key := jobLockKey(batchID)
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&ok); err != nil {
		conn.Release()
		return nil, fmt.Errorf("lock job of %s: %w", batchID, err)
	}
	if !ok {
		conn.Release()
		return nil, fmt.Errorf("batch %s: %w", batchID, ErrJobBusy)
	}
	return func() {
		_, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key)
		if err != nil {
			// Closing the connection is what releases the lock then.
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
		conn.Release()
	}, nil
}
