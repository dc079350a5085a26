package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/batch"
	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/projections"
)

// The sandbox's production desk (docs/platform.md, "Sandbox"): in the
// sandbox tenant only, every CARDLEDGER_SANDBOX_PRODUCTION_INTERVAL it
// does what a production clerk, the bank and the card vendor do by hand
// in production, through the same batch service: it selects the pending
// applications into a batch, reviews and confirms it, exports the bank's
// account-opening file and imports the bank simulator's return, exports
// the production file and imports the vendor simulator's return, exports
// the bank data file and imports the bank's activation return. The cards
// are then produced (制卡成功), with the vendor, where the desk leaves
// them: hand-over and pick-up are a clerk's acts, not a simulator's.
//
// One desk runs among the instances sharing the sandbox (a session
// advisory lock on a connection of its own, taken for each round); a
// round that fails is logged and the next one goes on from the step the
// batch reached, since every step is read back from the batch stream.

// sandboxDeskLock is the advisory lock of the sandbox's production desk
// ("clsbd"), in the sandbox's database.
const sandboxDeskLock = 0x63_6c_73_62_64

// sandboxDeskRevisitDays bounds the batches a round looks at for one an
// earlier round left half-way: those created in the last days, so a round
// does not read every batch the sandbox ever made.
const sandboxDeskRevisitDays = 7

// Who the desk acts as in the batch stream.
const sandboxDeskActor = "sandbox-production-desk"

// sandboxFailRate is the simulators' share of refused or failed people,
// as `cardledger simulate` answers by default.
const sandboxFailRate = 0.02

// deskRound is the outcome of one round: the batches it worked on.
type deskRound struct {
	Created  string         // the batch this round selected, "" when nobody was pending
	Finished []string       // batches the round took to the end of the exchange
	Counts   map[string]int // applied people by outcome, over the round's returns
}

// startSandboxDesk runs the desk every interval until ctx ends.
func startSandboxDesk(ctx context.Context, wg *sync.WaitGroup, svc *batch.Service, t *sandboxTenant, every time.Duration, log logrus.FieldLogger) {
	log = log.WithField("sandbox", "production desk")
	wg.Add(1)
	go func() {
		defer wg.Done()
		log.WithField("interval", every.String()).Info("sandbox production desk started")
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(every):
			}
			round, err := runSandboxDesk(ctx, svc, t)
			switch {
			case err != nil && ctx.Err() == nil:
				log.WithError(err).Warn("sandbox production desk: round failed; the next round goes on from where it stopped")
			case round == nil: // another instance's desk holds the lock
			case round.Created != "" || len(round.Finished) > 0:
				log.WithFields(logrus.Fields{"created": round.Created, "finished": round.Finished, "counts": round.Counts}).
					Info("sandbox production desk: round done")
			default:
				log.Debug("sandbox production desk: nothing pending")
			}
		}
	}()
}

// runSandboxDesk is one round: it finishes the exchange of every batch
// an earlier round left half-way, then selects the pending applications
// into a new batch and takes it through the exchange. nil, nil: another
// instance's desk holds the lock.
func runSandboxDesk(ctx context.Context, svc *batch.Service, t *sandboxTenant) (*deskRound, error) {
	conn, err := pgx.ConnectConfig(ctx, t.d.pool.Config().ConnConfig)
	if err != nil {
		return nil, fmt.Errorf("desk lock: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var mine bool
	if err := projections.SetLockKeepalive(ctx, conn); err != nil {
		return nil, fmt.Errorf("desk lock: %w", err)
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(sandboxDeskLock)).Scan(&mine); err != nil {
		return nil, fmt.Errorf("desk lock: %w", err)
	}
	if !mine {
		return nil, nil
	}
	round := &deskRound{Counts: map[string]int{}}
	// A job a crash left running is applied first (the sandbox runs no
	// job worker of its own: the desk is the sandbox's only batch clerk).
	if _, err := svc.ResumeAll(ctx); err != nil {
		return round, err
	}
	batches, err := svc.Batches(ctx)
	if err != nil {
		return round, err
	}
	// A batch that cannot go on does not hold up the others nor the new
	// one; every error is returned (and logged) and tried again next round.
	var errs []error
	since := time.Now().AddDate(0, 0, -sandboxDeskRevisitDays).Format(domain.DateLayout)
	for _, b := range batches {
		if b.CreatedOn < since || ctx.Err() != nil {
			break // newest first: the rest are older
		}
		done, err := driveSandboxBatch(ctx, svc, b.BatchID, round)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if done {
			round.Finished = append(round.Finished, b.BatchID)
		}
	}
	b, err := svc.CreateBatch(ctx, "", domain.BatchFilter{})
	if de, ok := domain.AsError(err); ok && de.Code == domain.CodeBatchEmpty {
		return round, errors.Join(errs...)
	}
	if err != nil {
		return round, errors.Join(append(errs, fmt.Errorf("select pending applications: %w", err))...)
	}
	round.Created = b.ID
	if _, err := driveSandboxBatch(ctx, svc, b.ID, round); err != nil {
		return round, errors.Join(append(errs, err)...)
	}
	round.Finished = append(round.Finished, b.ID)
	return round, errors.Join(errs...)
}

// driveSandboxBatch takes the batch from the step it is at to the end of
// the exchange (activation_applied), one step at a time; done reports
// whether it had anything to do.
func driveSandboxBatch(ctx context.Context, svc *batch.Service, id string, round *deskRound) (done bool, err error) {
	for {
		st, err := svc.Status(ctx, id)
		if err != nil {
			return done, err
		}
		switch st.Step {
		case domain.StepCreated:
			_, err = svc.Review(ctx, id, sandboxDeskActor, "sandbox: selected by the production desk")
		case domain.StepReviewed:
			_, err = svc.Confirm(ctx, id, sandboxDeskActor)
		case domain.StepConfirmed, domain.StepBankExported:
			err = exchangeSandboxFile(ctx, svc, id, domain.FileBankOpen, simulate.Bank, round)
		case domain.StepBankApplied, domain.StepProductionExported:
			err = exchangeSandboxFile(ctx, svc, id, domain.FileProduction, simulate.Vendor, round)
		case domain.StepProductionApplied, domain.StepBankDataExported:
			err = exchangeSandboxFile(ctx, svc, id, domain.FileBankData, simulate.Bank, round)
		case domain.StepBankApplying, domain.StepProductionApplying:
			// A return accepted, its job not applied (ResumeAll was busy
			// elsewhere, or it stopped): apply it now.
			_, err = svc.RunJobs(ctx, id)
		default: // activation_applied or beyond: the exchange is over
			return done, nil
		}
		if err != nil {
			return done, fmt.Errorf("batch %s at %s: %w", id, st.Step, err)
		}
		after, err := svc.Status(ctx, id)
		if err != nil {
			return done, err
		}
		if after.Step == st.Step {
			return done, fmt.Errorf("batch %s stays at %s", id, st.Step)
		}
		done = true
	}
}

// exchangeSandboxFile exports file kind, has the simulator answer it and
// imports the return, applying its job here and now. Every batch has a
// seed of its own: a person the bank refused or whose card failed goes
// back to pending and, in the next round's batch, is most likely through.
func exchangeSandboxFile(ctx context.Context, svc *batch.Service, id string, kind domain.BatchFileKind,
	answer func([]byte, simulate.Options) ([]byte, error), round *deskRound) error {
	export, err := svc.Export(ctx, id, kind)
	if err != nil {
		return err
	}
	ret, err := answer(export, simulate.Options{FailRate: sandboxFailRate, Seed: sandboxSeedOf(id)})
	if err != nil {
		return err
	}
	rep, err := svc.ImportReturn(ctx, ret)
	if err != nil {
		return err
	}
	if rep.Job == nil { // nobody in the file: the step moved on with no job
		return nil
	}
	if rep.Job.State != batch.JobFinished {
		return errors.New(string(kind) + " return: its job did not finish")
	}
	for k, n := range rep.Job.Counts {
		round.Counts[string(kind)+"."+k] += n
	}
	return nil
}

// sandboxSeedOf is the simulators' seed for a batch.
func sandboxSeedOf(batchID string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(batchID))
	return int64(h.Sum64() >> 1)
}
