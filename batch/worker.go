package batch

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sirupsen/logrus"

	"github.com/cardledger/cardledger/projections"
)

// The job worker. Accepting a return file, a hand-over, a pick-up or a
// retry only records the job in the batch stream (a 202 for the API); the
// worker applies it in the background. One worker is active across every
// process sharing the database (a session advisory lock on a connection of
// its own, as the projections hold theirs); the others wait and take over
// when it dies. At start, and then on every wake-up or poll, it resumes
// every running job, so a job a crash interrupted goes on by itself.

// workerLockKey is the advisory lock of the active job worker ("clbjw").
const workerLockKey = 0x63_6c_62_6a_77

// WorkerOptions configure RunWorker.
type WorkerOptions struct {
	// Poll is how often the worker looks for jobs started by another
	// process and a standby tries the lock (default 2 s).
	Poll time.Duration
	Log  logrus.FieldLogger // nil: logrus' standard logger
	// Metrics counts the jobs applied (NewWorkerMetrics); nil: none.
	Metrics *WorkerMetrics
}

// wakeWorker tells this process's worker that a job was started. Never blocks.
func (s *Service) wakeWorker() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// RunWorker applies batch jobs until ctx ends; it returns ctx's error.
func (s *Service) RunWorker(ctx context.Context, o WorkerOptions) error {
	if o.Poll <= 0 {
		o.Poll = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = logrus.StandardLogger()
	}
	for {
		conn, err := s.acquireWorkerLock(ctx, o)
		if err != nil {
			return err
		}
		err = s.work(ctx, conn, o)
		releaseWorkerLock(conn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		o.Log.WithError(err).Warn("batch job worker lost its lock; trying again")
	}
}

// work resumes running jobs, then waits for a wake-up or the poll, while
// the lock's connection answers.
func (s *Service) work(ctx context.Context, lock *pgx.Conn, o WorkerOptions) error {
	for {
		jobs, err := s.ResumeAll(ctx)
		if ctx.Err() == nil {
			o.Metrics.observe(jobs, err)
		}
		if err != nil && ctx.Err() == nil {
			o.Log.WithError(err).Error("batch job worker: a job stopped; it is tried again at the next poll")
		}
		for _, j := range jobs {
			o.Log.WithFields(logrus.Fields{"batch": j.BatchID, "job": j.Job, "kind": j.Kind, "items": j.Items,
				"counts": j.Counts, "elapsed": j.Elapsed}).Info("batch job applied")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.wake:
		case <-time.After(o.Poll):
		}
		pctx, cancel := context.WithTimeout(ctx, o.Poll)
		err = lock.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("job worker lock connection: %w", err)
		}
	}
}

// acquireWorkerLock waits until this process holds the worker lock, trying
// every poll (trying, not blocking, keeps cancellation prompt).
func (s *Service) acquireWorkerLock(ctx context.Context, o WorkerOptions) (*pgx.Conn, error) {
	for {
		conn, err := pgx.ConnectConfig(ctx, s.pool.Config().ConnConfig)
		if err == nil {
			var ok bool
			// A dead host's lock ends in seconds, not hours.
			if err = projections.SetLockKeepalive(ctx, conn); err == nil {
				err = conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(workerLockKey)).Scan(&ok)
			}
			if err == nil && ok {
				return conn, nil
			}
			_ = conn.Close(context.WithoutCancel(ctx))
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if err != nil {
			o.Log.WithError(err).Warn("batch job worker: cannot try the lock")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(o.Poll):
		}
	}
}

// releaseWorkerLock closes the lock's connection, which releases the lock.
func releaseWorkerLock(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = conn.Close(ctx)
}
