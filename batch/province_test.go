package batch

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/province"
)

// A bulk application is a first issue: a person holding a valid card of
// another city (the province simulator, over HTTP) is a rejected row; a
// province that fails refuses the whole import before anything is written.
func TestImportAppliesTheFirstIssueRule(t *testing.T) {
	e := newEnv(t)
	s := e.service(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sim, err := province.NewSimulator(province.SimulatorOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	client, err := province.NewClient(srv.URL, "", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e.cmds.UseProvince(client)
	rows := people(2, 300)
	if err := sim.Put(commands.ProvinceCard{IDNumber: rows[0].IDNumber, ProvincialCard: domain.ProvincialCard{
		CardNo: "B00000300", Region: "110105", Status: domain.StatusActive}}); err != nil {
		t.Fatal(err)
	}
	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, rows, files.EncodingUTF8); err != nil {
		t.Fatal(err)
	}

	sim.SetFault(province.FaultError)
	if _, err := s.ImportApplications(ctx, csv.Bytes()); !errors.Is(err, commands.ErrProvinceUnavailable) {
		t.Fatalf("import with the province failing: %v, want ErrProvinceUnavailable", err)
	}
	if _, err := e.store.ReadStream(ctx, domain.StreamFor(domain.CardholderIDFor(testIDKey, rows[1].IDNumber)), 0, 0); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("a row was written although the import failed: %v", err)
	}

	sim.SetFault(province.FaultNone)
	rep, err := s.ImportApplications(ctx, csv.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1 || rep.Rejected != 1 {
		t.Fatalf("report %+v", rep)
	}
	if l := rep.Lines[0]; l.Status != RowRejected || len(l.Problems) != 1 || l.Problems[0].Code != domain.CodeCardHeldElsewhere {
		t.Errorf("line %d: %s %+v, want rejected with card_held_elsewhere", l.Line, l.Status, l.Problems)
	}
	if l := rep.Lines[1]; l.Status != RowImported {
		t.Errorf("line %d: %s %+v, want imported", l.Line, l.Status, l.Problems)
	}
}
