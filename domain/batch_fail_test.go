package domain

import (
	"reflect"
	"strings"
	"testing"
)

// A return line is checked with the field rules of the cardholder command
// its job will decide, so nobody fails later for a value refusable now.
func TestReturnLinesMeetTheRulesTheirJobWillMeet(t *testing.T) {
	b := givenBatch(t, upTo(3, StepBankExported)...)
	long := strings.Repeat("长", maxTextLen+1)
	tests := []struct {
		name string
		edit func(c *AcceptBatchReturn)
		code string
	}{
		{"7-digit account", func(c *AcceptBatchReturn) { c.Lines[1].AccountNo = "6222000" }, CodeInvalidValue},
		{"33-digit account", func(c *AcceptBatchReturn) { c.Lines[1].AccountNo = strings.Repeat("6", 33) }, CodeInvalidValue},
		{"account with letters", func(c *AcceptBatchReturn) { c.Lines[1].AccountNo = "6222000X" }, CodeInvalidValue},
		{"refusal reason too long", func(c *AcceptBatchReturn) { c.Lines[1].OK, c.Lines[1].AccountNo, c.Lines[1].Reason = false, "", long }, CodeTooLong},
		{"blank refusal reason", func(c *AcceptBatchReturn) { c.Lines[1].OK, c.Lines[1].AccountNo, c.Lines[1].Reason = false, "", "  " }, CodeRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := AcceptBatchReturn{File: FileBankOpenReturn, BatchID: "B1", SHA256: "r", Lines: bankLines(b)}
			tt.edit(&c)
			_, err := DecideBatch(b, c)
			wantCode(t, err, CodeReturnRejected)
			de, _ := AsError(err)
			if len(de.Fields) != 1 || de.Fields[0].Field != "line 3" || de.Fields[0].Code != tt.code {
				t.Fatalf("problems %+v, want one %s on line 3", de.Fields, tt.code)
			}
		})
	}
	// A member without a bank code cannot have an account opened.
	nobank := upTo(3, StepBankExported)
	nobank[1] = BatchMembersAdded{Members: testMembers(3)}
	nobank[1].(BatchMembersAdded).Members[0].BankCode = ""
	b = givenBatch(t, nobank...)
	_, err := DecideBatch(b, AcceptBatchReturn{File: FileBankOpenReturn, BatchID: "B1", SHA256: "r", Lines: bankLines(b)})
	de, _ := AsError(err)
	if de == nil || len(de.Fields) != 1 || de.Fields[0].Field != "line 2" || de.Fields[0].Code != CodeRequired {
		t.Fatalf("member without bank: %v", err)
	}

	p := givenBatch(t, upTo(3, StepProductionExported)...)
	var lines []ReturnLine
	for n, i := range p.InFile(FileProduction) {
		m := p.Members[i]
		lines = append(lines, ReturnLine{Line: n + 2, ApplicationID: m.ApplicationID, IDNumber: m.IDNumber,
			CardNo: p.Progress[i].CardNo, OK: false, Reason: long})
	}
	_, err = DecideBatch(p, AcceptBatchReturn{File: FileProductionReturn, BatchID: "B1", Lines: lines})
	de, _ = AsError(err)
	if de == nil || len(de.Fields) != 2 || de.Fields[0].Code != CodeTooLong {
		t.Fatalf("production failure reasons too long: %v", err)
	}
}

// Hand-over and pick-up refuse values every card's own decision would.
func TestHandOverAndPickUpRefuseWhatEveryCardWould(t *testing.T) {
	b := givenBatch(t, upTo(4, StepActivationApplied)...)
	for _, c := range []BatchCommand{
		HandOverBatch{From: CustodyVendor, To: CustodyVendor, Handler: "h"},
		HandOverBatch{From: CustodyVendor, To: strings.Repeat("t", maxRefLen+1), Handler: "h"},
		PickUpBatch{On: "2025-02-30", Agency: "a"},
		PickUpBatch{On: "2025-04-02", Agency: strings.Repeat("a", maxRefLen+1)},
	} {
		if _, err := DecideBatch(b, c); err == nil {
			t.Errorf("%+v accepted", c)
		} else if de, _ := AsError(err); de.Kind != KindInvalid {
			t.Errorf("%+v: %v, want invalid", c, err)
		}
	}
}

// An item its cardholder refused leaves the member at the stage before the
// job, with the failure recorded; a retry applies it again.
func TestFailedItemIsRecordedAgainstTheMemberAndRetried(t *testing.T) {
	ev := upTo(3, StepBankApplying)
	fail := JobFailure{Job: 1, Member: 2, Code: CodeNoPendingApplication, Reason: "application withdrawn"}
	ev = append(ev, BatchJobProgressed{Job: 1, Done: 3, CardNos: []CardAssignment{{Member: 1, CardNo: "C1"}}, Failures: []JobFailure{fail}},
		BatchJobCompleted{Job: 1})
	b := givenBatch(t, ev...)
	if p := b.Progress[2]; p.Stage != MemberSelected || p.Failure == nil || *p.Failure != fail {
		t.Fatalf("failed member %+v", p)
	}
	rec, _ := b.JobRecord(1)
	want := map[string]int{string(MemberAccountOpened): 1, string(MemberAccountRefused): 1, OutcomeFailed: 1}
	if !reflect.DeepEqual(rec.Outcomes, want) || !rec.Finished || rec.Items != 3 {
		t.Fatalf("job record %+v", rec)
	}
	if got := b.InFile(FileProduction); !reflect.DeepEqual(got, []int{1}) {
		t.Fatalf("production members %v", got)
	}
	_, err := DecideBatch(b, RetryBatchJob{Job: 2})
	wantCode(t, err, CodeJobNotRetryable)
	events, err := DecideBatch(b, RetryBatchJob{Job: 1})
	if want := []Event{BatchJobRetried{Job: 2, Of: 1, Members: []int{2}}}; err != nil || !reflect.DeepEqual(events, want) {
		t.Fatalf("retry: %v %+v", err, events)
	}
	ev = append(ev, events...)
	b = givenBatch(t, ev...)
	if b.Step != StepBankApplying || len(b.Job.Items) != 1 || b.Job.Items[0].Row.AccountNo != "622" || b.Job.Origin != 1 {
		t.Fatalf("retry job %+v step %s", b.Job, b.Step)
	}
	ev = append(ev, BatchJobProgressed{Job: 2, Done: 1, CardNos: []CardAssignment{{Member: 2, CardNo: "C2"}}}, BatchJobCompleted{Job: 2})
	b = givenBatch(t, ev...)
	if p := b.Progress[2]; p.Stage != MemberAccountOpened || p.Failure != nil || p.CardNo != "C2" || b.Step != StepBankApplied {
		t.Fatalf("after retry %+v step %s", p, b.Step)
	}
	if events, err := DecideBatch(b, RetryBatchJob{Job: 2}); err != nil || events != nil {
		t.Fatalf("nothing left to retry: %v %v", events, err)
	}
	b = givenBatch(t, append(ev, BatchFileExported{File: FileProduction, SHA256: "h", Lines: 2})...)
	_, err = DecideBatch(b, RetryBatchJob{Job: 2})
	wantCode(t, err, CodeJobNotRetryable)
}

// A member still failed when the batch moves on leaves it, with the reason.
func TestMovingOnReleasesMembersStillFailed(t *testing.T) {
	ev := upTo(3, StepBankApplying)
	fail := JobFailure{Job: 1, Member: 2, Code: CodeNoPendingApplication, Reason: "application withdrawn"}
	ev = append(ev, BatchJobProgressed{Job: 1, Done: 3, CardNos: []CardAssignment{{Member: 1, CardNo: "C1"}}, Failures: []JobFailure{fail}},
		BatchJobCompleted{Job: 1})
	b := givenBatch(t, ev...)
	events, err := DecideBatch(b, RecordBatchExport{File: FileProduction, SHA256: "h", Lines: 1})
	want := []Event{BatchMembersReleased{Members: []int{2}, CardholderIDs: []string{"ch2"}}, BatchFileExported{File: FileProduction, SHA256: "h", Lines: 1}}
	if err != nil || !reflect.DeepEqual(events, want) {
		t.Fatalf("export: %v %+v", err, events)
	}
	b = givenBatch(t, append(ev, events...)...)
	if p := b.Progress[2]; p.Stage != MemberReleased || !p.Stage.Dropped() || p.Reason != "application withdrawn" || p.Failure != nil {
		t.Fatalf("released member %+v", p)
	}
	if got := b.InFile(FileProduction); !reflect.DeepEqual(got, []int{1}) {
		t.Fatalf("production members after the release %v", got)
	}
}
