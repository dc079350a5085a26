package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// The process manager. A job (a return file's outcomes, a hand-over, a
// pick-up) is recorded in the batch stream before any cardholder is
// touched. RunJobs then applies items in stretches of jobStretch: the items
// of a stretch go to their cardholder streams in parallel, then one
// BatchJobProgressed records that the stretch is done. After a crash the
// next RunJobs starts at the recorded Done; items of the interrupted
// stretch that did reach their stream are found there by their command id
// (commands.Repository.Update returns them as Replayed) and not written again.

// jobStretch is the fewest items applied between progress records; big
// jobs use longer stretches (a fortieth of the job) because each record
// reloads the batch stream.
const jobStretch = 500

func stretchFor(items int) int { return max(jobStretch, items/40) }

// RunJobs applies the batch's running job, if any, to the end and returns
// its status (nil when no job was running). It holds the batch's job lock
// while it runs: a second runner anywhere gets ErrJobBusy.
func (s *Service) RunJobs(ctx context.Context, batchID string) (*JobStatus, error) {
	start := time.Now()
	b, err := s.getBatch(ctx, batchID)
	if err != nil {
		return nil, err
	}
	if b.Job == nil {
		return nil, nil
	}
	unlock, err := s.lockJob(ctx, batchID)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// Read again under the lock: another runner may have finished it.
	if b, err = s.getBatch(ctx, batchID); err != nil || b.Job == nil {
		return nil, err
	}
	job := b.Job
	st := &JobStatus{BatchID: batchID, Job: job.Seq, Kind: job.Kind, State: JobRunning, Items: len(job.Items), Done: job.Done}
	for st.Done < len(job.Items) {
		end := min(st.Done+stretchFor(len(job.Items)), len(job.Items))
		cards, failures, err := s.applyStretch(ctx, b, job, st.Done, end)
		if err != nil {
			return st, fmt.Errorf("batch %s job %d items %d-%d: %w", batchID, job.Seq, st.Done, end, err)
		}
		if _, _, err := s.updateBatch(ctx, batchID, domain.RecordBatchJobProgress{Job: job.Seq, Done: end, CardNos: cards, Failures: failures}); err != nil {
			return st, err
		}
		st.Done = end
	}
	b, _, err = s.updateBatch(ctx, batchID, domain.CompleteBatchJob{Job: job.Seq})
	if err != nil {
		return st, err
	}
	st = jobStatus(b, job.Seq)
	st.Elapsed = time.Since(start).Round(time.Millisecond).String()
	return st, nil
}

// ResumeAll finishes every job that is running: left by a crash, or
// accepted by a process that does not apply jobs itself. A job another
// runner holds is skipped; a job that stops is reported and the others go on.
func (s *Service) ResumeAll(ctx context.Context) ([]JobStatus, error) {
	// Up to the store's head, not just this Service's writes: the jobs may
	// have been started by another process.
	if err := s.readModel.CatchUp(ctx, s.store); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, "SELECT batch_id FROM batchrm.batches WHERE job <> 0 ORDER BY batch_id")
	if err != nil {
		return nil, fmt.Errorf("resume: %w", err)
	}
	ids, err := collectStrings(rows)
	if err != nil {
		return nil, err
	}
	// A job that stops does not hold up the others; every error is returned.
	var out []JobStatus
	var errs []error
	for _, id := range ids {
		st, err := s.RunJobs(ctx, id)
		if errors.Is(err, ErrJobBusy) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if st != nil {
			out = append(out, *st)
		}
	}
	return out, errors.Join(errs...)
}

// applyStretch applies items [from, to) of job in parallel.
func (s *Service) applyStretch(ctx context.Context, b *domain.Batch, job *domain.BatchJob, from, to int) ([]domain.CardAssignment, []domain.JobFailure, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		cards    []domain.CardAssignment
		failures []domain.JobFailure
		firstErr error
		wg       sync.WaitGroup
	)
	next := make(chan int)
	for range s.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				cardNo, err := s.applyItemPatiently(ctx, b, job, job.Items[i])
				mu.Lock()
				var de *domain.Error
				var ie *itemError
				switch {
				case errors.As(err, &de):
					failures = append(failures, domain.JobFailure{Job: job.Seq, Member: job.Items[i].Member, Code: de.Code, Reason: de.Message})
				case errors.As(err, &ie):
					failures = append(failures, domain.JobFailure{Job: job.Seq, Member: job.Items[i].Member, Code: CodeApplyError, Reason: ie.reason()})
				case err != nil:
					if firstErr == nil {
						firstErr = err
						cancel()
					}
				case cardNo != "":
					cards = append(cards, domain.CardAssignment{Member: job.Items[i].Member, CardNo: cardNo})
				}
				mu.Unlock()
				if err == nil && s.afterItem != nil {
					s.afterItem(i + 1)
				}
			}
		}()
	}
feed:
	for i := from; i < to; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return nil, nil, firstErr
	}
	// Deterministic order in the progress event, whatever the worker timing.
	slices.SortFunc(cards, func(a, b domain.CardAssignment) int { return a.Member - b.Member })
	slices.SortFunc(failures, func(a, b domain.JobFailure) int { return a.Member - b.Member })
	return cards, failures, nil
}

// CodeApplyError: an item failed for a reason of its own other than a
// domain refusal (say its cardholder stream cannot be read) while the event
// store answered; it is recorded against the person like a refusal.
const CodeApplyError = "apply_error"

// itemAttempts is how often one run tries an item that fails other than by
// a domain refusal.
const itemAttempts = 3

// itemError is an item that kept failing while the store was healthy.
type itemError struct{ err error }

func (e *itemError) Error() string { return e.err.Error() }
func (e *itemError) Unwrap() error { return e.err }

// reason is the failure's text, bounded like any other reason.
func (e *itemError) reason() string {
	r := []rune("could not be applied: " + e.err.Error())
	return string(r[:min(len(r), 200)])
}

// applyItemPatiently is applyItem, trying again an item that fails other
// than by a domain refusal. If it still fails while the event store
// answers, the trouble is the item's own: it becomes an *itemError, which
// is recorded against the person (retryable), so one bad stream neither
// stops the job nor leaves the person in no state. If the store does not
// answer, the error stops the run and the job resumes later as it is.
func (s *Service) applyItemPatiently(ctx context.Context, b *domain.Batch, job *domain.BatchJob, it domain.JobItem) (string, error) {
	for attempt := 1; ; attempt++ {
		cardNo, err := s.applyItem(ctx, b, job, it)
		if _, refused := domain.AsError(err); err == nil || refused || ctx.Err() != nil {
			return cardNo, err
		}
		if attempt == itemAttempts {
			if _, _, herr := s.store.Head(ctx); herr != nil {
				return "", err
			}
			return "", &itemError{err}
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(time.Duration(attempt) * 100 * time.Millisecond):
		}
	}
}

// applyItem carries one item to its cardholder stream. It returns the card
// number assigned (bank return job) or a *domain.Error when the cardholder
// refuses the outcome.
func (s *Service) applyItem(ctx context.Context, b *domain.Batch, job *domain.BatchJob, it domain.JobItem) (string, error) {
	m, p := b.Members[it.Member], b.Progress[it.Member]
	env := s.envelope(commandID("job", b.ID, strconv.Itoa(job.Origin), strconv.Itoa(it.Member)), b.ID)
	repo := s.cmds.Repository
	update := func(decide func(*domain.Cardholder) ([]domain.Event, error)) (commands.Result, error) {
		res, err := repo.Update(ctx, m.CardholderID, nil, env, func(c *domain.Cardholder) ([]domain.Event, error) {
			if c.Card == nil || c.Card.ApplicationID != m.ApplicationID {
				return nil, domain.Conflict(domain.CodeNoPendingApplication, "application %s is no longer the current one", m.ApplicationID)
			}
			return decide(c)
		})
		if err == nil {
			s.written.advance(res.Position)
		}
		return res, err
	}
	row := it.Row
	switch job.Kind {
	case domain.JobBankReturn:
		if !row.OK {
			_, err := update(func(c *domain.Cardholder) ([]domain.Event, error) {
				return domain.Decide(c, domain.RefuseBankAccount{BankCode: m.BankCode, Reason: row.Reason})
			})
			return "", err
		}
		// The reservation derives from the same command id, so a resumed
		// item finds the number it reserved before.
		cardNo, err := s.cmds.CardNumbers.Reserve(ctx, env, m.CardholderID)
		if err != nil {
			return "", err
		}
		res, err := update(func(c *domain.Cardholder) ([]domain.Event, error) {
			return decideAll(c,
				when(c.Card.AccountNo == "", domain.OpenBankAccount{BankCode: m.BankCode, AccountNo: row.AccountNo}),
				when(c.Card.CardNo == "", domain.AssignCardNumber{CardNo: cardNo}))
		})
		if err != nil {
			return "", err
		}
		return res.State.Card.CardNo, nil
	case domain.JobProductionReturn:
		_, err := update(func(c *domain.Cardholder) ([]domain.Event, error) {
			if row.OK {
				return domain.Decide(c, domain.RecordProduction{CardNo: p.CardNo, ChipID: row.ChipID})
			}
			return domain.Decide(c, domain.RecordProductionFailure{CardNo: p.CardNo, Reason: row.Reason})
		})
		return "", err
	case domain.JobHandOver:
		_, err := update(func(c *domain.Cardholder) ([]domain.Event, error) {
			return domain.Decide(c, domain.HandOverCard{CardNo: p.CardNo, From: job.From, To: job.To, Handler: job.Handler})
		})
		return "", err
	case domain.JobPickUp:
		on, err := time.Parse(domain.DateLayout, job.On)
		if err != nil {
			return "", fmt.Errorf("pick-up date %q: %w", job.On, err)
		}
		// Noon UTC is the same civil date in China.
		on = on.Add(12 * time.Hour)
		_, err = update(func(c *domain.Cardholder) ([]domain.Event, error) {
			return decideAll(c,
				domain.IssueCard{CardNo: p.CardNo, On: on, Agency: job.Agency},
				when(p.BankConfirmed, domain.ActivateCard{CardNo: p.CardNo}))
		})
		return "", err
	}
	return "", fmt.Errorf("unknown job kind %q", job.Kind)
}

// when returns cmd if cond holds, else nil (skipped by decideAll).
func when(cond bool, cmd domain.CardholderCommand) domain.CardholderCommand {
	if cond {
		return cmd
	}
	return nil
}

// decideAll decides commands one after the other on a copy of c, so their
// events can be appended together, atomically.
func decideAll(c *domain.Cardholder, cmds ...domain.CardholderCommand) ([]domain.Event, error) {
	cp := *c
	if c.Card != nil {
		card := *c.Card
		cp.Card = &card
	}
	cp.PastCards = slices.Clone(c.PastCards)
	var out []domain.Event
	for _, cmd := range cmds {
		if cmd == nil {
			continue
		}
		events, err := domain.Decide(&cp, cmd)
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			cp.Apply(e)
		}
		out = append(out, events...)
	}
	return out, nil
}
