package batch

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/batch/simulate"
	"github.com/cardledger/cardledger/domain"
)

// flowPeople is the batch size of the end-to-end test.
const flowPeople = 2000

// TestFullBatchRoundTrips takes a few thousand people from a GB18030
// application file through every exchange file, with refusals and failures,
// a corrupted return, and a process manager crash in the middle of a
// return, and checks every person's final state and history.
func TestFullBatchRoundTrips(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	t0 := time.Now()
	lap := func(what string) { t.Logf("%-28s %6.2fs", what, time.Since(t0).Seconds()); t0 = time.Now() }

	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, people(flowPeople, 0), files.EncodingGB18030); err != nil {
		t.Fatal(err)
	}
	rep, err := s.ImportApplications(ctx, csv.Bytes())
	if err != nil || rep.Imported != flowPeople {
		t.Fatalf("import: %v %+v", err, rep.Rejected)
	}

	lap("import")
	b, err := s.CreateBatch(ctx, "B1", domain.BatchFilter{RegionCode: "320505", Source: domain.SourceBatch, Kind: domain.FirstIssue})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Members) != flowPeople {
		t.Fatalf("batch has %d members", len(b.Members))
	}
	if _, err := s.CreateBatch(ctx, "B2", domain.BatchFilter{RegionCode: "320505"}); !domain.HasCode(err, domain.CodeBatchEmpty) {
		t.Fatalf("second batch over the same people: %v", err)
	}
	if _, err := s.Export(ctx, "B1", domain.FileBankOpen); !domain.HasCode(err, domain.CodeBatchWrongStep) {
		t.Fatalf("export before review: %v", err)
	}
	mustDo(t, func() error { _, err := s.Review(ctx, "B1", "reviewer-1", "ok"); return err })
	mustDo(t, func() error { _, err := s.Confirm(ctx, "B1", "chief-1"); return err })

	// Bank account opening, 2% refused.
	bankFile := export(t, s, "B1", domain.FileBankOpen)
	if again := export(t, s, "B1", domain.FileBankOpen); !bytes.Equal(bankFile, again) {
		t.Fatal("the bank file is not generated deterministically")
	}
	bankReturn, err := simulate.Bank(bankFile, simulate.Options{FailRate: 0.02, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ret := importReturn(t, s, bankReturn)
	refused := ret.Failed
	if refused == 0 || ret.Job == nil || ret.Job.Done != flowPeople {
		t.Fatalf("bank return %+v", ret)
	}

	lap("create, bank round-trip")
	// Vendor production, 2% failed; the first vendor return is corrupted.
	prodFile := export(t, s, "B1", domain.FileProduction)
	vendorReturn, err := simulate.Vendor(prodFile, simulate.Options{FailRate: 0.02, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	before := eventCount(t, e)
	corrupted := bytes.Replace(vendorReturn, []byte("D|10|"), []byte("D|10|X"), 1)
	if _, err := s.ImportReturn(ctx, corrupted); !domain.HasCode(err, domain.CodeReturnRejected) {
		t.Fatalf("corrupted return: %v", err)
	}
	wrongBatch := bytes.Replace(vendorReturn, []byte("|B1|"), []byte("|B9|"), 1)
	rr, err := s.ImportReturn(ctx, wrongBatch)
	if !domain.HasCode(err, domain.CodeReturnRejected) || rr.Problems[0].Code != domain.CodeWrongBatch {
		t.Fatalf("return for another batch: %v %+v", err, rr)
	}
	if after := eventCount(t, e); after != before {
		t.Fatalf("a rejected return appended events: %v → %v", before, after)
	}

	// Crash the process manager in the middle of the vendor return.
	crashCtx, crash := context.WithCancel(ctx)
	var applied atomic.Int64
	s.afterItem = func(int) {
		if applied.Add(1) == flowPeople/2 {
			crash()
		}
	}
	_, err = s.ImportReturn(crashCtx, vendorReturn)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("crashed import: %v", err)
	}
	st, err := s.Status(ctx, "B1")
	if err != nil || st.Job == nil || st.Job.Done >= st.Job.Items {
		t.Fatalf("after the crash: %v %+v", err, st.Job)
	}
	t.Logf("crashed at %d applied items, %d recorded as done", applied.Load(), st.Job.Done)
	resumed := e.service(t) // a fresh process
	jobs, err := resumed.ResumeAll(ctx)
	if err != nil || len(jobs) != 1 || jobs[0].Done != jobs[0].Items {
		t.Fatalf("resume: %v %+v", err, jobs)
	}
	st, _ = resumed.Status(ctx, "B1")
	failedProduction := st.Stages[domain.MemberProductionFailed]
	if st.Step != domain.StepProductionApplied || failedProduction == 0 || len(st.Failures) != refused+failedProduction {
		t.Fatalf("after production: %+v", st)
	}
	lap("vendor round-trip + crash")
	// Offering the same return again changes nothing.
	before = eventCount(t, e)
	if again := importReturn(t, resumed, vendorReturn); !again.AlreadyAccepted {
		t.Fatalf("same return again: %+v", again)
	}
	if after := eventCount(t, e); after != before {
		t.Fatal("the same return twice appended events")
	}

	// Bank data and the activation return, 2% not confirmed.
	s = resumed
	dataReturn, err := simulate.Bank(export(t, s, "B1", domain.FileBankData), simulate.Options{FailRate: 0.02, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	importReturn(t, s, dataReturn)

	// Logistics down to the village, then batch pick-up.
	if _, err := s.PickUp(ctx, "B1", "", "employer"); !domain.HasCode(err, domain.CodeInvalidCommand) {
		t.Fatalf("pick-up without date: %v", err)
	}
	mustDo(t, func() error {
		_, err := s.HandOver(ctx, "B1", domain.CustodyVendor, "town-320505001", "courier-1")
		return err
	})
	mustDo(t, func() error {
		_, err := s.HandOver(ctx, "B1", "town-320505001", "village-320505001001", "clerk-2")
		return err
	})
	pick, err := s.PickUp(ctx, "B1", "2025-03-20", "village-320505001001")
	if err != nil || len(pick.Failures) != 0 {
		t.Fatalf("pick-up: %v %+v", err, pick)
	}

	lap("bank data, logistics, pickup")
	// Every person ends in the right state with the right history.
	members, err := s.Members(ctx, "B1", "")
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	for _, m := range members {
		loaded, err := e.cmds.Repository.Load(ctx, m.CardholderID)
		if err != nil {
			t.Fatal(err)
		}
		var types []string
		for _, r := range loaded.Recorded {
			types = append(types, r.Type)
		}
		got := strings.Join(types, ",")
		c := loaded.State
		const start = "CardholderRegistered,CardApplied,"
		var want string
		var status domain.CardStatus
		switch {
		case m.Stage == domain.MemberAccountRefused:
			want, status = start+"BankAccountRefused", domain.StatusApplied
		case m.Stage == domain.MemberProductionFailed:
			want, status = start+"BankAccountOpened,CardNumberAssigned,CardProductionFailed", domain.StatusApplied
		case m.BankConfirmed:
			want, status = start+"BankAccountOpened,CardNumberAssigned,CardProduced,CardHandedOver,CardHandedOver,CardIssued,CardActivated", domain.StatusActive
		default:
			want, status = start+"BankAccountOpened,CardNumberAssigned,CardProduced,CardHandedOver,CardHandedOver,CardIssued", domain.StatusIssued
		}
		if got != want || c.Status() != status {
			t.Fatalf("%s (%s): status %s history\n got %s\nwant %s", m.ApplicationID, m.Stage, c.Status(), got, want)
		}
		if m.Stage == domain.MemberIssued && (c.Card.CardNo != m.CardNo || c.Card.ChipID != m.ChipID || c.Card.IssuedOn != "2025-03-20" ||
			c.Card.Custody.From != "village-320505001001") {
			t.Fatalf("%s: card %+v, batch says %+v", m.ApplicationID, c.Card, m)
		}
		if m.Stage.Dropped() && (c.Card.LastFailure == "" || c.Card.LastFailure != m.Reason) {
			t.Fatalf("%s: failure %q, batch says %q", m.ApplicationID, c.Card.LastFailure, m.Reason)
		}
		counts[string(c.Status())]++
	}
	t.Logf("final states: %v", counts)
	lap("verify")

	// The dropped-out people are pending again and go into the next batch;
	// those with a failed production skip the bank.
	b2, err := s.CreateBatch(ctx, "B2", domain.BatchFilter{RegionCode: "320505"})
	if err != nil || len(b2.Members) != refused+failedProduction {
		t.Fatalf("retry batch: %v, %d members", err, len(b2.Members))
	}
	if n := len(b2.InFile(domain.FileBankOpen)); n != refused {
		t.Fatalf("retry bank file has %d people, want %d", n, refused)
	}
	// The retry batch goes all the way with no failures.
	mustDo(t, func() error { _, err := s.Review(ctx, "B2", "reviewer-1", ""); return err })
	mustDo(t, func() error { _, err := s.Confirm(ctx, "B2", "chief-1"); return err })
	for _, k := range []domain.BatchFileKind{domain.FileBankOpen, domain.FileProduction, domain.FileBankData} {
		sim := simulate.Bank
		if k == domain.FileProduction {
			sim = simulate.Vendor
		}
		ret, err := sim(export(t, s, "B2", k), simulate.Options{Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		importReturn(t, s, ret)
	}
	mustDo(t, func() error {
		_, err := s.HandOver(ctx, "B2", domain.CustodyVendor, "village-1", "courier-1")
		return err
	})
	mustDo(t, func() error { _, err := s.PickUp(ctx, "B2", "2025-04-01", "village-1"); return err })
	retried, err := s.Members(ctx, "B2", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range retried {
		loaded, err := e.cmds.Repository.Load(ctx, m.CardholderID)
		if err != nil {
			t.Fatal(err)
		}
		if c := loaded.State; c.Status() != domain.StatusActive || c.Card.CardNo != m.CardNo || c.Card.LastFailure != "" {
			t.Fatalf("retried %s: %s card %+v", m.ApplicationID, c.Status(), c.Card)
		}
	}
	lap("retry batch")
}

func mustDo(t *testing.T, f func() error) {
	t.Helper()
	if err := f(); err != nil {
		t.Fatal(err)
	}
}

func export(t *testing.T, s *Service, id string, kind domain.BatchFileKind) []byte {
	t.Helper()
	data, err := s.Export(context.Background(), id, kind)
	if err != nil {
		t.Fatalf("export %s: %v", kind, err)
	}
	return data
}

func importReturn(t *testing.T, s *Service, data []byte) *ReturnReport {
	t.Helper()
	rep, err := s.ImportReturn(context.Background(), data)
	if err != nil {
		t.Fatalf("import return: %v %+v", err, rep)
	}
	return rep
}
