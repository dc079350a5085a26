package batch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/domain"
)

// Environment of the child process in TestProcessManagerSurvivesKill.
const (
	envCrashDB     = "CARDLEDGER_BATCH_CRASH_DB"
	envCrashAt     = "CARDLEDGER_BATCH_CRASH_AT"
	envCrashPeople = "CARDLEDGER_BATCH_CRASH_PEOPLE" // size override, e.g. 50000 for the full-size run
)

// TestProcessManagerSurvivesKill accepts a bank return, lets the job worker
// of a separate process (as in a server) apply it and SIGKILLs that process
// halfway through, then starts a worker here (a server starting again),
// which resumes the job by itself, and checks that every person got the
// outcome exactly once.
func TestProcessManagerSurvivesKill(t *testing.T) {
	if os.Getenv(envCrashDB) != "" {
		t.Skip("child process")
	}
	t.Parallel()
	n := 1500
	if v, err := strconv.Atoi(os.Getenv(envCrashPeople)); err == nil && v > 0 {
		n = v
	}
	e := newEnv(t)
	s := e.service(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, people(n, 0), files.EncodingUTF8); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	if rep, err := s.ImportApplications(ctx, csv.Bytes()); err != nil || rep.Imported != n {
		t.Fatalf("import: %v", err)
	}
	t.Logf("imported %d people in %v", n, time.Since(t0))
	if _, err := s.CreateBatch(ctx, "K1", domain.BatchFilter{}); err != nil {
		t.Fatal(err)
	}
	mustDo(t, func() error { _, err := s.Review(ctx, "K1", "r", ""); return err })
	mustDo(t, func() error { _, err := s.Confirm(ctx, "K1", "c"); return err })
	ret, err := simulate.Bank(export(t, s, "K1", domain.FileBankOpen), simulate.Options{FailRate: 0.02, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	// Accept the return here; the child process's worker applies it.
	if rep, err := s.AcceptReturn(ctx, ret); err != nil || rep.Job == nil || rep.Job.State != JobRunning {
		t.Fatalf("accept: %v %+v", err, rep)
	}

	t0 = time.Now()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestProcessManagerChild$", "-test.v")
	child.Env = append(os.Environ(), envCrashDB+"="+e.dbURL, envCrashAt+"="+strconv.Itoa(n/2))
	out, err := child.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v\n%s", err, out)
	}
	st, err := s.Status(ctx, "K1")
	if err != nil || st.Job == nil || st.Job.Done >= n {
		t.Fatalf("after the kill: %v %+v", err, st.Job)
	}
	t.Logf("child killed after %v with %d of %d items recorded", time.Since(t0), st.Job.Done, n)

	t0 = time.Now()
	startWorker(t, s)
	job := waitJob(t, s, "K1", 1)
	if job.Done != n || job.Counts[string(domain.MemberAccountOpened)]+job.Counts[string(domain.MemberAccountRefused)] != n {
		t.Fatalf("resumed job %+v", job)
	}
	t.Logf("resumed in %v", time.Since(t0))
	members, err := s.Members(ctx, "K1", "")
	if err != nil {
		t.Fatal(err)
	}
	cardNos := map[string]bool{}
	for _, m := range members {
		loaded, err := e.cmds.Repository.Load(ctx, m.CardholderID)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, r := range loaded.Recorded {
			types = append(types, r.Type)
		}
		want := "CardholderRegistered,CardApplied,BankAccountOpened,CardNumberAssigned"
		if m.Stage == domain.MemberAccountRefused {
			want = "CardholderRegistered,CardApplied,BankAccountRefused"
		}
		if got := strings.Join(types, ","); got != want {
			t.Fatalf("%s: history %s, want %s", m.ApplicationID, got, want)
		}
		if c := loaded.State.Card; c.CardNo != m.CardNo || (c.CardNo != "" && cardNos[c.CardNo]) {
			t.Fatalf("%s: card %q, batch says %q (or number used twice)", m.ApplicationID, c.CardNo, m.CardNo)
		}
		cardNos[m.CardNo] = true
	}
}

// TestProcessManagerChild runs only as the child of
// TestProcessManagerSurvivesKill: it applies the running job and kills
// itself with SIGKILL after CARDLEDGER_BATCH_CRASH_AT items.
func TestProcessManagerChild(t *testing.T) {
	url := os.Getenv(envCrashDB)
	if url == "" {
		t.Skip("runs only as a child process")
	}
	at, _ := strconv.Atoi(os.Getenv(envCrashAt))
	e := openEnv(t, url)
	s := e.service(t)
	var done atomic.Int64
	s.afterItem = func(int) {
		if done.Add(1) == int64(at) {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
	}
	err := s.RunWorker(context.Background(), WorkerOptions{Poll: 50 * time.Millisecond, Log: quietLog()})
	t.Fatalf("the worker stopped (%v) before the kill", err)
}

// waitJob polls the job until it has finished.
func waitJob(t *testing.T, s *Service, batchID string, seq int) *JobStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		st, err := s.Job(context.Background(), batchID, seq)
		if err != nil {
			t.Fatal(err)
		}
		if st.State == JobFinished {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d of %s still %s: %+v", seq, batchID, st.State, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
