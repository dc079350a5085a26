package batch

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
)

// perStreamOnly hides the store's AppendMany, as EventStoreDB has none.
type perStreamOnly struct{ eventstore.Store }

// Chunks of new people go through one AppendMany each; people registered
// in the middle of a chunk make that chunk resolve them alone. The report
// must be the one the per-row path gives.
func TestImportInChunksReportsAsRowByRow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(eventstore.Store) eventstore.Store
	}{
		{"multi-stream appends", func(s eventstore.Store) eventstore.Store { return s }},
		{"per-stream appends only", func(s eventstore.Store) eventstore.Store { return perStreamOnly{s} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			rows := people(importChunkRows+60, 0)
			registered := map[int]bool{3: true, importChunkRows + 7: true, importChunkRows + 8: true}
			for i := range registered {
				_, err := e.cmds.Register.Handle(ctx, commands.Register{Envelope: commands.NewEnvelope(domain.Actor{Client: "t"}, "http"),
					Cardholder: domain.RegisterCardholder{IDNumber: rows[i].IDNumber, Name: rows[i].Name, Nationality: "CHN", RegionCode: "320505"}})
				if err != nil {
					t.Fatal(err)
				}
			}
			var csv bytes.Buffer
			if err := files.WriteApplications(&csv, rows, files.EncodingGB18030); err != nil {
				t.Fatal(err)
			}
			s, err := New(Deps{Store: tc.store(e.store), Pool: e.pool, Commands: e.cmds, IDKey: testIDKey, Clock: testClock,
				Actor: domain.Actor{Client: "batch-test"}, Workers: 4})
			if err != nil {
				t.Fatal(err)
			}
			before := eventCount(t, e)

			rep, err := s.ImportApplications(ctx, csv.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			wantImported := len(rows) - len(registered)
			if rep.Imported != wantImported || rep.Rejected != len(registered) || rep.AlreadyImported != 0 {
				t.Fatalf("report: %d imported, %d rejected, %d already imported; want %d, %d, 0",
					rep.Imported, rep.Rejected, rep.AlreadyImported, wantImported, len(registered))
			}
			for i, l := range rep.Lines {
				if registered[i] {
					if l.Status != RowRejected || len(l.Problems) != 1 || l.Problems[0].Code != CodeExists || l.ApplicationID != "" {
						t.Errorf("line %d: %s %+v app %q, want rejected as %s", l.Line, l.Status, l.Problems, l.ApplicationID, CodeExists)
					}
				} else if l.Status != RowImported || l.ApplicationID == "" {
					t.Errorf("line %d: %s %+v, want imported", l.Line, l.Status, l.Problems)
				}
			}
			if got, want := eventCount(t, e)-before, int64(2*wantImported); got != want {
				t.Errorf("import appended %d events, want %d", got, want)
			}

			again, err := s.ImportApplications(ctx, csv.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if again.AlreadyImported != wantImported || again.Rejected != len(registered) || again.Imported != 0 {
				t.Fatalf("re-import: %d imported, %d rejected, %d already imported", again.Imported, again.Rejected, again.AlreadyImported)
			}
		})
	}
}
