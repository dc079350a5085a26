package batch

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// readyBatch imports n people and takes batch id to bank_exported; it
// returns the bank's return file (nobody refused unless refuse is set).
func readyBatch(t *testing.T, s *Service, id string, n int) []byte {
	t.Helper()
	ctx := context.Background()
	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, people(n, 0), files.EncodingUTF8); err != nil {
		t.Fatal(err)
	}
	if rep, err := s.ImportApplications(ctx, csv.Bytes()); err != nil || rep.Imported != n {
		t.Fatalf("import: %v %+v", err, rep)
	}
	if _, err := s.CreateBatch(ctx, id, domain.BatchFilter{}); err != nil {
		t.Fatal(err)
	}
	mustDo(t, func() error { _, err := s.Review(ctx, id, "r", ""); return err })
	mustDo(t, func() error { _, err := s.Confirm(ctx, id, "c"); return err })
	ret, err := simulate.Bank(export(t, s, id, domain.FileBankOpen), simulate.Options{FailRate: 0, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return ret
}

// editReturn changes detail record i of a return file and frames it again.
func editReturn(t *testing.T, data []byte, i int, edit func(rec []string)) []byte {
	t.Helper()
	f, err := files.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	edit(f.Records[i])
	out, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The outside test: a 7-digit account number (the contract says 8 to 32
// digits) was accepted, and that person then failed while the job applied
// yet was counted as opened. The file must be refused whole instead.
func TestReturnWithAnAccountTheDomainRefusesIsRejectedWhole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(t)
	ctx := context.Background()
	ret := readyBatch(t, s, "S1", 3)
	bad := editReturn(t, ret, 1, func(rec []string) { rec[3] = "6222021" })
	rep, err := s.ImportReturn(ctx, bad)
	if !domain.HasCode(err, domain.CodeReturnRejected) || rep.Accepted ||
		len(rep.Problems) != 1 || rep.Problems[0].Field != "line 3" || rep.Problems[0].Code != domain.CodeInvalidValue {
		t.Fatalf("7-digit account: %v %+v", err, rep)
	}
	// A refusal whose reason the cardholder would refuse (over 200 characters).
	long := editReturn(t, ret, 0, func(rec []string) { rec[2], rec[3], rec[4] = files.ResultFailed, "", strings.Repeat("拒", 201) })
	if rep, err := s.ImportReturn(ctx, long); !domain.HasCode(err, domain.CodeReturnRejected) || rep.Problems[0].Code != domain.CodeTooLong {
		t.Fatalf("long reason: %v %+v", err, rep)
	}
	st, err := s.Status(ctx, "S1")
	if err != nil || st.Step != domain.StepBankExported || st.Job != nil || st.Stages[domain.MemberSelected] != 3 {
		t.Fatalf("after the rejections: %v %+v", err, st)
	}
	if rep := importReturn(t, s, ret); rep.Job == nil || rep.Job.Counts[string(domain.MemberAccountOpened)] != 3 {
		t.Fatalf("the right file: %+v", rep)
	}
}

// A person whose cardholder stream refuses their outcome while the job
// applies is recorded as failed with the reason, is neither opened nor
// refused, counts as failed, and can be retried.
func TestItemRefusedWhileTheJobAppliesIsRecordedAgainstThePerson(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(t)
	ctx := context.Background()
	ret := readyBatch(t, s, "S2", 4)
	// The bank refuses line 2's person; before the job applies that, the
	// same person's account is opened at a counter.
	ret = editReturn(t, ret, 1, func(rec []string) { rec[2], rec[3], rec[4] = files.ResultFailed, "", "identity not verified" })
	rep, err := s.AcceptReturn(ctx, ret)
	if err != nil || rep.Job == nil || rep.Job.State != JobRunning {
		t.Fatalf("accept: %v %+v", err, rep)
	}
	members, err := s.Members(ctx, "S2", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if m.Stage != domain.MemberSelected {
			t.Fatalf("accepting moved %s to %s before the job applied it", m.ApplicationID, m.Stage)
		}
	}
	b, _ := s.getBatch(ctx, "S2")
	victim := b.Members[b.Job.Items[1].Member]
	_, err = e.cmds.Repository.Update(ctx, victim.CardholderID, nil,
		commands.Envelope{CommandID: uuid.New(), Actor: domain.Actor{Client: "counter"}, Channel: "counter"},
		func(c *domain.Cardholder) ([]domain.Event, error) {
			return domain.Decide(c, domain.OpenBankAccount{BankCode: victim.BankCode, AccountNo: "62220000000000099"})
		})
	if err != nil {
		t.Fatal(err)
	}

	job, err := s.RunJobs(ctx, "S2")
	if err != nil {
		t.Fatal(err)
	}
	wantCounts := map[string]int{string(domain.MemberAccountOpened): 3, domain.OutcomeFailed: 1}
	if job.State != JobFinished || !reflect.DeepEqual(job.Counts, wantCounts) || len(job.Failures) != 1 || !job.Retryable ||
		job.Failures[0].ApplicationID != victim.ApplicationID || job.Failures[0].Code != domain.CodeAccountAlreadyOpen ||
		job.Failures[0].Stage != domain.MemberSelected {
		t.Fatalf("job %+v", job)
	}
	st, err := s.Status(ctx, "S2")
	if err != nil {
		t.Fatal(err)
	}
	if st.Failed != 1 || st.Stages[domain.MemberAccountOpened] != 3 || st.Stages[domain.MemberAccountRefused] != 0 ||
		st.Stages[domain.MemberSelected] != 1 || len(st.Failures) != 1 || st.Failures[0].Job != 1 || st.Failures[0].Reason == "" ||
		st.LastJob == nil || !st.LastJob.Retryable {
		t.Fatalf("status %+v", st)
	}
	ms, _ := s.Members(ctx, "S2", domain.MemberSelected)
	if len(ms) != 1 || ms[0].Failure == nil || ms[0].Failure.Code != domain.CodeAccountAlreadyOpen {
		t.Fatalf("failed member %+v", ms)
	}

	// The retry applies the item again; its cardholder refuses it again,
	// which is recorded again (job 2), not assumed.
	retry, err := s.Retry(ctx, "S2", 1)
	if err != nil || retry.Job != 2 || retry.RetryOf != 1 || retry.Items != 1 ||
		!reflect.DeepEqual(retry.Counts, map[string]int{domain.OutcomeFailed: 1}) {
		t.Fatalf("retry: %v %+v", err, retry)
	}
	if _, err := s.Retry(ctx, "S2", 1); !domain.HasCode(err, domain.CodeJobNotRetryable) {
		t.Fatalf("retrying a job that is not the last: %v", err)
	}
	if st, _ := s.Status(ctx, "S2"); st.Failed != 1 || st.Failures[0].Job != 2 || st.Step != domain.StepBankApplied {
		t.Fatalf("status after the retry %+v", st)
	}
	// Production goes on without the failed person, who is no longer retryable then.
	prod := export(t, s, "S2", domain.FileProduction)
	if n := bytes.Count(prod, []byte("\nD|")); n != 3 {
		t.Fatalf("production file has %d people", n)
	}
	if _, err := s.Retry(ctx, "S2", 2); !domain.HasCode(err, domain.CodeJobNotRetryable) {
		t.Fatalf("retry after the batch moved on: %v", err)
	}
	// Moving on released them from the batch, with the reason: their
	// application is pending again and goes into the next batch.
	st, err = s.Status(ctx, "S2")
	if err != nil || st.Failed != 0 || st.Stages[domain.MemberReleased] != 1 || len(st.Failures) != 1 ||
		st.Failures[0].ApplicationID != victim.ApplicationID || st.Failures[0].Stage != domain.MemberReleased || st.Failures[0].Reason == "" {
		t.Fatalf("status after moving on: %v %+v", err, st)
	}
	next, err := s.CreateBatch(ctx, "S2B", domain.BatchFilter{})
	if err != nil || len(next.Members) != 1 || next.Members[0].ApplicationID != victim.ApplicationID {
		t.Fatalf("next batch: %v %+v", err, next)
	}
}

// An item that cannot be applied for a reason of its own other than a
// domain refusal (here: its cardholder stream holds an event this version
// cannot read) used to stop the job for good, leaving it running and
// everyone after it unapplied. It is recorded against that person instead.
func TestItemWhoseStreamCannotBeReadIsRecordedNotStuck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(t)
	ctx := context.Background()
	ret := readyBatch(t, s, "S3", 3)
	if _, err := s.AcceptReturn(ctx, ret); err != nil {
		t.Fatal(err)
	}
	b, _ := s.getBatch(ctx, "S3")
	victim := b.Members[b.Job.Items[0].Member]
	_, err := e.store.Append(ctx, domain.StreamFor(victim.CardholderID), eventstore.Any(),
		[]eventstore.EventData{{ID: uuid.New(), Type: "FromAFutureVersion", Data: []byte(`{}`), Metadata: []byte(`{}`)}})
	if err != nil {
		t.Fatal(err)
	}
	job, err := s.RunJobs(ctx, "S3")
	if err != nil {
		t.Fatalf("the job stopped: %v", err)
	}
	if job.State != JobFinished || !reflect.DeepEqual(job.Counts, map[string]int{string(domain.MemberAccountOpened): 2, domain.OutcomeFailed: 1}) ||
		len(job.Failures) != 1 || job.Failures[0].ApplicationID != victim.ApplicationID || job.Failures[0].Code != CodeApplyError {
		t.Fatalf("job %+v", job)
	}
}

// A counter application may name no bank; the bank's account-opening
// return can neither open nor refuse its account, so such a person would
// make the batch's bank return unacceptable. Batch selection leaves them out.
func TestBatchLeavesOutApplicationsWithoutABank(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(t)
	ctx := context.Background()
	p := people(1, 500)[0]
	id := domain.CardholderIDFor(testIDKey, p.IDNumber)
	env := commands.Envelope{CommandID: uuid.New(), Actor: domain.Actor{Client: "counter"}, Channel: "counter"}
	_, err := e.cmds.Repository.Update(ctx, id, nil, env, func(c *domain.Cardholder) ([]domain.Event, error) {
		return decideAll(c,
			domain.RegisterCardholder{CardholderID: id, IDNumber: p.IDNumber, Name: p.Name, Nationality: "CHN", RegionCode: p.RegionCode},
			domain.ApplyForCard{ApplicationID: "counter-app-1", Source: domain.SourceCounter})
	})
	if err != nil {
		t.Fatal(err)
	}
	ret := readyBatch(t, s, "S4", 3)
	if st, err := s.Status(ctx, "S4"); err != nil || st.Members != 3 {
		t.Fatalf("batch %v %+v", err, st)
	}
	if rep := importReturn(t, s, ret); rep.Job == nil || rep.Job.Counts[string(domain.MemberAccountOpened)] != 3 {
		t.Fatalf("return %+v", rep)
	}
}
