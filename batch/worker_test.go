package batch

import (
	"context"
	"errors"
	"testing"
	"time"
)

// One job worker is active per database: a second one stands by until the
// first one's lock connection goes, then takes over.
func TestOneJobWorkerIsActiveAtATime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, b := e.service(t), e.service(t)
	opts := WorkerOptions{Poll: 20 * time.Millisecond, Log: quietLog()}
	held, err := a.acquireWorkerLock(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	// The lock's session ends soon after a dead host goes silent.
	var idle string
	if err := held.QueryRow(context.Background(), "SHOW tcp_keepalives_idle").Scan(&idle); err != nil || idle != "1" {
		t.Fatalf("worker lock session: tcp_keepalives_idle %q (%v), want 1", idle, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_, err = b.acquireWorkerLock(ctx, opts)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second worker got the lock while the first held it: %v", err)
	}
	releaseWorkerLock(held)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	taken, err := b.acquireWorkerLock(ctx, opts)
	if err != nil {
		t.Fatalf("the standby did not take over: %v", err)
	}
	releaseWorkerLock(taken)
}

// A batch's job is applied by one runner at a time: a CLI `batch resume`
// while a server's worker applies it is told so and leaves it alone.
func TestASecondRunnerOfTheSameJobIsTurnedAway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s, other := e.service(t), e.service(t)
	ctx := context.Background()
	if _, err := s.AcceptReturn(ctx, readyBatch(t, s, "W1", 2)); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.lockJob(ctx, "W1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.RunJobs(ctx, "W1"); !errors.Is(err, ErrJobBusy) {
		t.Fatalf("second runner: %v, want ErrJobBusy", err)
	}
	if jobs, err := other.ResumeAll(ctx); err != nil || len(jobs) != 0 {
		t.Fatalf("resume skipped nothing: %v %+v", err, jobs)
	}
	unlock()
	if st, err := other.RunJobs(ctx, "W1"); err != nil || st.State != JobFinished {
		t.Fatalf("after the first let go: %v %+v", err, st)
	}
}
