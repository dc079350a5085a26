package batch

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

func TestImportValidatesEveryRowAndRegistersNobodyTwice(t *testing.T) {
	e := newEnv(t)
	s := e.service(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Someone already registered at the counter.
	existing := people(1, 900)[0]
	_, err := e.cmds.Register.Handle(ctx, commands.Register{Envelope: commands.NewEnvelope(domain.Actor{Client: "t"}, "http"),
		Cardholder: domain.RegisterCardholder{IDNumber: existing.IDNumber, Name: existing.Name, Nationality: "CHN", RegionCode: "320505"}})
	if err != nil {
		t.Fatal(err)
	}
	rows := people(5, 0)
	badCheck := people(1, 100)[0]
	badCheck.IDNumber = badCheck.IDNumber[:17] + string("0123456789X"[(int(badCheck.IDNumber[17])+1)%11])
	badRegion := people(1, 101)[0]
	badRegion.RegionCode = "990000"
	dup := people(1, 102)[0]
	rows = append(rows, badCheck, badRegion, dup, existing, dup)
	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, rows, files.EncodingGB18030); err != nil {
		t.Fatal(err)
	}

	rep, err := s.ImportApplications(ctx, csv.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Encoding != files.EncodingGB18030 || rep.Rows != 10 || rep.Imported != 5 || rep.Rejected != 5 {
		t.Fatalf("report %+v", rep)
	}
	wantCodes := map[int]string{7: domain.CodeInvalidIDNumber, 8: domain.CodeInvalidRegionCode, 9: CodeDuplicateInFile, 10: domain.CodeAlreadyRegistered, 11: CodeDuplicateInFile}
	for _, l := range rep.Lines {
		want, bad := wantCodes[l.Line]
		switch {
		case bad && (l.Status != RowRejected || len(l.Problems) != 1 || l.Problems[0].Code != want):
			t.Errorf("line %d: %s %+v, want rejected with %s", l.Line, l.Status, l.Problems, want)
		case !bad && l.Status != RowImported:
			t.Errorf("line %d: %s %+v, want imported", l.Line, l.Status, l.Problems)
		}
	}
	loaded, err := e.cmds.Repository.Load(ctx, rep.Lines[0].CardholderID)
	if err != nil {
		t.Fatal(err)
	}
	c := loaded.State
	if c.Profile.Name != "测试00000" || c.Status() != domain.StatusApplied || c.Card.Source != domain.SourceBatch || c.Card.PhotoRef != "photo/00000.jpg" {
		t.Fatalf("imported cardholder %+v card %+v", c.Profile, c.Card)
	}

	before := eventCount(t, e)
	again, err := s.ImportApplications(ctx, csv.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if again.AlreadyImported != 5 || again.Imported != 0 || again.Rejected != 5 {
		t.Fatalf("re-import %+v", again)
	}
	if after := eventCount(t, e); after != before {
		t.Fatalf("re-import appended: head %v → %v", before, after)
	}
}

// Every column the file contract requires must be filled in on every row;
// a row with an empty one is refused alone (an empty 开户银行 was imported,
// and its person could never have had an account opened).
func TestImportRefusesEachRowWithAnEmptyRequiredField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(t)
	ctx := context.Background()
	ids := []string{idNumber("320505", 1), idNumber("320505", 2), idNumber("320505", 3), idNumber("320505", 4)}
	csv := "身份证号码,姓名,行政区划代码,开户银行\n" +
		ids[0] + ",张三,320505,ICBC\n" +
		ids[1] + ",李四,320505,\n" +
		ids[2] + ",,320505,ICBC\n" +
		ids[3] + ",王五,,ICBC\n" +
		",赵六,320505,ICBC\n"
	rep, err := s.ImportApplications(ctx, []byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{3: "bank_code", 4: "name", 5: "region_code", 6: "id_number"}
	if rep.Imported != 1 || rep.Rejected != 4 {
		t.Fatalf("report %+v", rep)
	}
	for _, l := range rep.Lines {
		field, bad := want[l.Line]
		if !bad {
			if l.Status != RowImported {
				t.Errorf("line %d: %s %+v", l.Line, l.Status, l.Problems)
			}
			continue
		}
		if l.Status != RowRejected || len(l.Problems) != 1 || l.Problems[0].Field != field || l.Problems[0].Code != domain.CodeRequired {
			t.Errorf("line %d: %s %+v, want rejected: %s required", l.Line, l.Status, l.Problems, field)
		}
	}
}

// An import whose process died (nobody holds its lock) is reported
// interrupted, not running for ever; one whose process lives stays running.
func TestImportJobOfADeadProcessIsInterrupted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s := e.service(t)
	ctx := context.Background()
	dead, alive := uuid.NewString(), uuid.NewString()
	for _, id := range []string{dead, alive} {
		if _, err := e.pool.Exec(ctx, `INSERT INTO batchrm.import_jobs (import_id, state, sha256, encoding, rows, started_at)
			VALUES ($1, 'running', 'x', 'UTF-8', 5, now())`, id); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", importLockKey(alive)); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", importLockKey(alive))
	if job, err := s.ImportJob(ctx, dead); err != nil || job.State != ImportInterrupted || job.Error == "" {
		t.Fatalf("dead import: %v %+v", err, job)
	}
	if job, err := s.ImportJob(ctx, alive); err != nil || job.State != ImportRunning {
		t.Fatalf("live import: %v %+v", err, job)
	}
}
