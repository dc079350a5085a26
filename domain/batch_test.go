package domain

import (
	"errors"
	"reflect"
	"strconv"
	"testing"
)

// givenBatch replays events into a batch.
func givenBatch(t *testing.T, events ...Event) *Batch {
	t.Helper()
	b := &Batch{}
	for _, e := range events {
		if err := b.Apply(e); err != nil {
			t.Fatalf("given %T: %v", e, err)
		}
	}
	return b
}

func testMembers(n int) []BatchMember {
	ms := make([]BatchMember, n)
	for i := range ms {
		s := strconv.Itoa(i)
		ms[i] = BatchMember{CardholderID: "ch" + s, ApplicationID: "app" + s, IDNumber: "ID" + s, Name: "N" + s,
			Sex: Female, Source: SourceBatch, Kind: FirstIssue, BankCode: "ICBC"}
	}
	return ms
}

func created(n int) []Event {
	return []Event{
		BatchCreated{BatchID: "B1", MemberCount: n, CreatedOn: "2025-03-01"},
		BatchMembersAdded{Members: testMembers(n)},
	}
}

func upTo(n int, step BatchStep) []Event {
	ev := created(n)
	add := func(e ...Event) { ev = append(ev, e...) }
	if step == StepCreated {
		return ev
	}
	add(BatchReviewed{Reviewer: "r"})
	if step == StepReviewed {
		return ev
	}
	add(BatchConfirmed{ConfirmedBy: "c"})
	if step == StepConfirmed {
		return ev
	}
	add(BatchFileExported{File: FileBankOpen, SHA256: "h1", Lines: n})
	if step == StepBankExported {
		return ev
	}
	// Member 0 refused, the others opened.
	rows := []ReturnRow{{Member: 0, OK: false, Reason: "blacklisted"}}
	for i := 1; i < n; i++ {
		rows = append(rows, ReturnRow{Member: i, OK: true, AccountNo: "62" + strconv.Itoa(i)})
	}
	add(BatchReturnAccepted{File: FileBankOpenReturn, SHA256: "r1", Lines: n, Job: 1}, BatchReturnRowsAdded{Rows: rows})
	if step == StepBankApplying {
		return ev
	}
	var cards []CardAssignment
	for i := 1; i < n; i++ {
		cards = append(cards, CardAssignment{Member: i, CardNo: "C" + strconv.Itoa(i)})
	}
	add(BatchJobProgressed{Job: 1, Done: n, CardNos: cards}, BatchJobCompleted{Job: 1})
	if step == StepBankApplied {
		return ev
	}
	add(BatchFileExported{File: FileProduction, SHA256: "h2", Lines: n - 1})
	if step == StepProductionExported {
		return ev
	}
	// Member 1 failed production.
	rows = []ReturnRow{{Member: 1, OK: false, Reason: "chip defect"}}
	for i := 2; i < n; i++ {
		rows = append(rows, ReturnRow{Member: i, OK: true, ChipID: "0123456789ABCDEF0123456789ABCDEF"})
	}
	add(BatchReturnAccepted{File: FileProductionReturn, SHA256: "r2", Lines: n - 1, Job: 2}, BatchReturnRowsAdded{Rows: rows},
		BatchJobProgressed{Job: 2, Done: n - 1}, BatchJobCompleted{Job: 2})
	if step == StepProductionApplied {
		return ev
	}
	add(BatchFileExported{File: FileBankData, SHA256: "h3", Lines: n - 2})
	if step == StepBankDataExported {
		return ev
	}
	rows = nil
	for i := 2; i < n; i++ {
		rows = append(rows, ReturnRow{Member: i, OK: true})
	}
	add(BatchReturnAccepted{File: FileBankDataReturn, SHA256: "r3", Lines: n - 2}, BatchReturnRowsAdded{Rows: rows})
	return ev
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var de *Error
	if !errors.As(err, &de) || de.Code != code {
		t.Fatalf("error = %v, want code %s", err, code)
	}
}

func TestBatchStepsAreAllowedOnlyInOrder(t *testing.T) {
	tests := []struct {
		name string
		at   BatchStep
		cmd  BatchCommand
	}{
		{"confirm before review", StepCreated, ConfirmBatch{ConfirmedBy: "c"}},
		{"export bank file before confirmation", StepReviewed, RecordBatchExport{File: FileBankOpen, SHA256: "x"}},
		{"production file before the bank return", StepBankExported, RecordBatchExport{File: FileProduction, SHA256: "x"}},
		{"bank data before the vendor return", StepBankApplied, RecordBatchExport{File: FileBankData, SHA256: "x"}},
		{"vendor return before the production file", StepBankApplied, AcceptBatchReturn{File: FileProductionReturn, BatchID: "B1"}},
		{"pick up before the activation return", StepProductionApplied, PickUpBatch{On: "2025-04-01", Agency: "A"}},
		{"hand over before the activation return", StepBankDataExported, HandOverBatch{From: CustodyVendor, To: "city", Handler: "h"}},
		{"review twice after confirmation", StepConfirmed, ReviewBatch{Reviewer: "r2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecideBatch(givenBatch(t, upTo(4, tt.at)...), tt.cmd)
			wantCode(t, err, CodeBatchWrongStep)
		})
	}
}

func TestNoStepWhileAJobRuns(t *testing.T) {
	b := givenBatch(t, upTo(4, StepBankApplying)...)
	_, err := DecideBatch(b, RecordBatchExport{File: FileProduction, SHA256: "x"})
	wantCode(t, err, CodeBatchJobRunning)
}

func TestCreateBatchChunksMembers(t *testing.T) {
	events, err := DecideBatch(nil, CreateBatch{BatchID: "B1", CreatedOn: "2025-03-01", Members: testMembers(BatchChunk*2 + 1)})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 4 {
		t.Fatalf("got %d events, want created + 3 chunks", len(events))
	}
	b := givenBatch(t, events...)
	if len(b.Members) != BatchChunk*2+1 || b.Step != StepCreated {
		t.Fatalf("members %d step %s", len(b.Members), b.Step)
	}
	if i, ok := b.MemberIndex("app4000"); !ok || i != 4000 {
		t.Fatalf("index of app4000 = %d %v", i, ok)
	}
}

// After a member in the file was erased, the file cannot be made again
// byte for byte: asking again gives it with the member's data erased
// (nothing new recorded) instead of refusing it as a mismatch.
func TestExportAgainAfterAnErasureIsNotAMismatch(t *testing.T) {
	events := upTo(3, StepBankExported)
	erased := testMembers(3)
	erased[2].IDNumber, erased[2].Name = ErasedMarker, ErasedMarker
	events[1] = BatchMembersAdded{Members: erased}
	b := givenBatch(t, events...)
	got, err := DecideBatch(b, RecordBatchExport{File: FileBankOpen, SHA256: "h1-erased", Lines: 3})
	if err != nil || len(got) != 0 {
		t.Fatalf("re-export after an erasure: %v %v, want no events", got, err)
	}
	_, err = DecideBatch(b, RecordBatchExport{File: FileBankOpen, SHA256: "h1-erased", Lines: 2})
	wantCode(t, err, CodeExportMismatch)
}

func TestCreateBatchRefusesAnEmptySelectionAndAnExistingBatch(t *testing.T) {
	_, err := DecideBatch(nil, CreateBatch{BatchID: "B1", CreatedOn: "2025-03-01"})
	wantCode(t, err, CodeBatchEmpty)
	_, err = DecideBatch(givenBatch(t, created(2)...), CreateBatch{BatchID: "B1", CreatedOn: "2025-03-01", Members: testMembers(1)})
	wantCode(t, err, CodeBatchExists)
}

func TestExportIsIdempotentForTheSameDigest(t *testing.T) {
	b := givenBatch(t, upTo(3, StepBankExported)...)
	events, err := DecideBatch(b, RecordBatchExport{File: FileBankOpen, SHA256: "h1", Lines: 3})
	if err != nil || len(events) != 0 {
		t.Fatalf("re-export: %v %v, want no events", events, err)
	}
	_, err = DecideBatch(b, RecordBatchExport{File: FileBankOpen, SHA256: "other"})
	wantCode(t, err, CodeExportMismatch)
}

func bankLines(b *Batch) []ReturnLine {
	var ls []ReturnLine
	for n, i := range b.InFile(FileBankOpen) {
		m := b.Members[i]
		ls = append(ls, ReturnLine{Line: n + 2, ApplicationID: m.ApplicationID, IDNumber: m.IDNumber, OK: true, AccountNo: "6222000" + strconv.Itoa(i)})
	}
	return ls
}

func TestAcceptedBankReturnStartsAJobOverEveryLine(t *testing.T) {
	b := givenBatch(t, upTo(3, StepBankExported)...)
	lines := bankLines(b)
	lines[1].OK, lines[1].AccountNo, lines[1].Reason = false, "", "no such person at the bank"
	events, err := DecideBatch(b, AcceptBatchReturn{File: FileBankOpenReturn, BatchID: "B1", SHA256: "r", Lines: lines})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		BatchReturnAccepted{File: FileBankOpenReturn, SHA256: "r", Lines: 3, Job: 1},
		BatchReturnRowsAdded{Rows: []ReturnRow{
			{Member: 0, OK: true, AccountNo: "62220000"},
			{Member: 1, OK: false, Reason: "no such person at the bank"},
			{Member: 2, OK: true, AccountNo: "62220002"},
		}},
	}
	if !reflect.DeepEqual(events, want) {
		t.Fatalf("events\n got %+v\nwant %+v", events, want)
	}
	b = givenBatch(t, append(upTo(3, StepBankExported), events...)...)
	// Accepting moves nobody: the stages move as the job records each item.
	if b.Step != StepBankApplying || b.Job == nil || len(b.Job.Items) != 3 || b.Progress[1].Stage != MemberSelected {
		t.Fatalf("after accept: step %s job %+v progress %+v", b.Step, b.Job, b.Progress)
	}
	b = givenBatch(t, append(append(upTo(3, StepBankExported), events...), BatchJobProgressed{Job: 1, Done: 3})...)
	if b.Progress[1].Stage != MemberAccountRefused || b.Progress[2].Stage != MemberAccountOpened {
		t.Fatalf("after progress: %+v", b.Progress)
	}
}

func TestReturnThatDoesNotMatchTheBatchIsRejectedWhole(t *testing.T) {
	b := givenBatch(t, upTo(3, StepBankExported)...)
	tests := []struct {
		name  string
		edit  func(c *AcceptBatchReturn)
		codes []string
	}{
		{"wrong batch id", func(c *AcceptBatchReturn) { c.BatchID = "B2" }, []string{CodeWrongBatch}},
		{"unknown person", func(c *AcceptBatchReturn) { c.Lines[2].ApplicationID = "nobody" }, []string{CodeUnknownPerson, CodeMissingPerson}},
		{"id number of someone else", func(c *AcceptBatchReturn) { c.Lines[2].IDNumber = "ID0" }, []string{CodeUnknownPerson, CodeMissingPerson}},
		{"duplicate line", func(c *AcceptBatchReturn) { c.Lines[2] = c.Lines[0] }, []string{CodeDuplicateLine, CodeMissingPerson}},
		{"missing line", func(c *AcceptBatchReturn) { c.Lines = c.Lines[:2] }, []string{CodeMissingPerson}},
		{"refusal without reason", func(c *AcceptBatchReturn) { c.Lines[0].OK = false }, []string{CodeRequired}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := AcceptBatchReturn{File: FileBankOpenReturn, BatchID: "B1", SHA256: "r", Lines: bankLines(b)}
			tt.edit(&c)
			events, err := DecideBatch(b, c)
			wantCode(t, err, CodeReturnRejected)
			if events != nil {
				t.Fatalf("events %v with a rejection", events)
			}
			de, _ := AsError(err)
			var codes []string
			for _, f := range de.Fields {
				codes = append(codes, f.Code)
			}
			if !reflect.DeepEqual(codes, tt.codes) {
				t.Fatalf("problems %v, want %v (%v)", codes, tt.codes, de.Fields)
			}
		})
	}
}

// A member erased after the export reads with ErasedMarker for every
// personal field, while the bank's return still names their ID number: the
// line matches on the application alone, so the erasure does not strand
// the batch. A line naming another application is still refused.
func TestReturnLineOfAnErasedMemberMatchesOnTheApplication(t *testing.T) {
	lines := bankLines(givenBatch(t, upTo(3, StepBankExported)...))
	events := upTo(3, StepBankExported)
	erased := testMembers(3)
	erased[1].IDNumber, erased[1].Name = ErasedMarker, ErasedMarker
	events[1] = BatchMembersAdded{Members: erased}
	b := givenBatch(t, events...)
	got, err := DecideBatch(b, AcceptBatchReturn{File: FileBankOpenReturn, BatchID: "B1", SHA256: "r", Lines: lines})
	if err != nil {
		t.Fatalf("return after an erasure: %v", err)
	}
	if rows := got[1].(BatchReturnRowsAdded).Rows; len(rows) != 3 || rows[1] != (ReturnRow{Member: 1, OK: true, AccountNo: lines[1].AccountNo}) {
		t.Fatalf("rows %+v", rows)
	}
	lines[1].ApplicationID = "nobody"
	_, err = DecideBatch(b, AcceptBatchReturn{File: FileBankOpenReturn, BatchID: "B1", SHA256: "r", Lines: lines})
	wantCode(t, err, CodeReturnRejected)
}

func TestSameReturnTwiceDecidesNothingAndADifferentOneIsRefused(t *testing.T) {
	b := givenBatch(t, upTo(3, StepBankApplied)...)
	events, err := DecideBatch(b, AcceptBatchReturn{File: FileBankOpenReturn, BatchID: "B1", SHA256: "r1"})
	if err != nil || len(events) != 0 {
		t.Fatalf("same return again: %v %v", events, err)
	}
	_, err = DecideBatch(b, AcceptBatchReturn{File: FileBankOpenReturn, BatchID: "B1", SHA256: "other"})
	wantCode(t, err, CodeReturnDifferent)
}

func TestLaterFilesCarryOnlyMembersStillInTheBatch(t *testing.T) {
	b := givenBatch(t, upTo(4, StepBankApplied)...)
	if got := b.InFile(FileProduction); !reflect.DeepEqual(got, []int{1, 2, 3}) {
		t.Fatalf("production file members %v", got)
	}
	if b.Progress[2].CardNo != "C2" || b.Progress[0].Reason != "blacklisted" {
		t.Fatalf("progress %+v", b.Progress)
	}
	b = givenBatch(t, upTo(4, StepProductionApplied)...)
	if got := b.InFile(FileBankData); !reflect.DeepEqual(got, []int{2, 3}) {
		t.Fatalf("bank data members %v", got)
	}
	if b.Progress[1].Stage != MemberProductionFailed || b.Progress[1].Reason != "chip defect" {
		t.Fatalf("failed member %+v", b.Progress[1])
	}
}

func TestProductionReturnMustNameTheAssignedCard(t *testing.T) {
	b := givenBatch(t, upTo(3, StepProductionExported)...)
	var lines []ReturnLine
	for n, i := range b.InFile(FileProduction) {
		m := b.Members[i]
		lines = append(lines, ReturnLine{Line: n + 2, ApplicationID: m.ApplicationID, IDNumber: m.IDNumber,
			CardNo: b.Progress[i].CardNo, OK: true, ChipID: "0123456789ABCDEF0123456789ABCDEF"})
	}
	lines[1].CardNo = "C9"
	_, err := DecideBatch(b, AcceptBatchReturn{File: FileProductionReturn, BatchID: "B1", Lines: lines})
	wantCode(t, err, CodeReturnRejected)
	lines[1].CardNo, lines[1].ChipID = "C2", "xyz"
	_, err = DecideBatch(b, AcceptBatchReturn{File: FileProductionReturn, BatchID: "B1", Lines: lines})
	de, _ := AsError(err)
	if de == nil || len(de.Fields) != 1 || de.Fields[0].Code != CodeInvalidChipID {
		t.Fatalf("err %v", err)
	}
}

func TestHandOverAndPickUpRunOverProducedCards(t *testing.T) {
	ev := upTo(4, StepActivationApplied)
	b := givenBatch(t, ev...)
	if b.Step != StepActivationApplied || !b.Progress[2].BankConfirmed {
		t.Fatalf("step %s progress %+v", b.Step, b.Progress[2])
	}
	_, err := DecideBatch(b, HandOverBatch{From: "city", To: "town", Handler: "h"})
	wantCode(t, err, CodeCustodyElsewhere)
	events, err := DecideBatch(b, HandOverBatch{From: CustodyVendor, To: "town-01", Handler: "h"})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Event{BatchHandedOver{From: CustodyVendor, To: "town-01", Handler: "h", Job: 3}}; !reflect.DeepEqual(events, want) {
		t.Fatalf("events %+v", events)
	}
	ev = append(ev, events...)
	b = givenBatch(t, ev...)
	if len(b.Job.Items) != 2 || b.Job.Items[0].Member != 2 {
		t.Fatalf("hand-over items %+v", b.Job.Items)
	}
	ev = append(ev, BatchJobProgressed{Job: 3, Done: 2}, BatchJobCompleted{Job: 3})
	b = givenBatch(t, ev...)
	if b.Step != StepHandedOver || b.Custody != "town-01" {
		t.Fatalf("step %s custody %s", b.Step, b.Custody)
	}
	events, err = DecideBatch(b, PickUpBatch{On: "2025-04-02", Agency: "employer-7"})
	if err != nil {
		t.Fatal(err)
	}
	ev = append(ev, events...)
	ev = append(ev, BatchJobProgressed{Job: 4, Done: 2}, BatchJobCompleted{Job: 4})
	b = givenBatch(t, ev...)
	if b.Step != StepClosed || b.Progress[3].Stage != MemberIssued || b.Progress[1].Stage != MemberProductionFailed {
		t.Fatalf("step %s progress %+v", b.Step, b.Progress)
	}
	_, err = DecideBatch(b, HandOverBatch{From: "town-01", To: "village", Handler: "h"})
	wantCode(t, err, CodeBatchWrongStep)
}

func TestJobCompletionIsIdempotent(t *testing.T) {
	b := givenBatch(t, upTo(3, StepBankApplied)...)
	events, err := DecideBatch(b, CompleteBatchJob{Job: 1})
	if err != nil || len(events) != 0 {
		t.Fatalf("completing a finished job again: %v %v", events, err)
	}
	_, err = DecideBatch(b, RecordBatchJobProgress{Job: 1, Done: 1})
	wantCode(t, err, CodeJobNotRunning)
}

func TestAReturnFullOfStrangersListsAThousandProblemsAndACount(t *testing.T) {
	b := givenBatch(t, upTo(3, StepBankExported)...)
	var lines []ReturnLine
	for i := range 1500 {
		lines = append(lines, ReturnLine{Line: i + 2, ApplicationID: "x" + strconv.Itoa(i), OK: true, AccountNo: "12345678"})
	}
	_, err := DecideBatch(b, AcceptBatchReturn{File: FileBankOpenReturn, BatchID: "B1", Lines: lines})
	de, _ := AsError(err)
	if de == nil || len(de.Fields) != maxReturnProblems+1 || de.Fields[maxReturnProblems].Code != CodeMoreProblems {
		t.Fatalf("err %v", err)
	}
}
