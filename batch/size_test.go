package batch

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/domain"
)

// TestCreateBatchTakesWhatOneAppendCarries: a batch's members are written
// in the append that creates it, and sealed (piistore, as cardledger runs)
// a member is about 500 bytes, so 2,500 pending people do not fit in one
// append (eventstore.MaxAppendSize, EventStoreDB's limit). The batch takes
// the first ones that fit; the others stay pending for the next batch.
func TestCreateBatchTakesWhatOneAppendCarries(t *testing.T) {
	t.Parallel()
	const pending = 2500
	e := newEnv(t)
	s := sealedService(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, people(pending, 0), files.EncodingGB18030); err != nil {
		t.Fatal(err)
	}
	if rep, err := s.ImportApplications(ctx, csv.Bytes()); err != nil || rep.Imported != pending {
		t.Fatalf("import: %v %+v", err, rep.Rejected)
	}
	filter := domain.BatchFilter{RegionCode: "320505"}
	b1, err := s.CreateBatch(ctx, "B1", filter)
	if err != nil {
		t.Fatalf("create B1: %v", err)
	}
	if len(b1.Members) == 0 || len(b1.Members) >= pending {
		t.Fatalf("B1 has %d members, want some but not all %d", len(b1.Members), pending)
	}
	t.Logf("B1 takes %d of %d", len(b1.Members), pending)
	b2, err := s.CreateBatch(ctx, "B2", filter)
	if err != nil {
		t.Fatalf("create B2: %v", err)
	}
	if len(b1.Members)+len(b2.Members) != pending {
		t.Fatalf("B1 %d + B2 %d members, want the %d pending", len(b1.Members), len(b2.Members), pending)
	}
	seen := map[string]bool{}
	for _, m := range append(b1.Members, b2.Members...) {
		if seen[m.ApplicationID] {
			t.Fatalf("application %s in both batches", m.ApplicationID)
		}
		seen[m.ApplicationID] = true
	}
}
