package batch

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
	"github.com/cardledger/cardledger/eventstore"
	"github.com/cardledger/cardledger/eventstore/piistore"
	"github.com/cardledger/cardledger/internal/testpg"
)

// BenchmarkImportApplications100k imports a 100,000-row GB18030 file into
// an empty store, through the production stack: personal data sealed by
// piistore over the PostgreSQL store.
//
//	go test ./batch -run '^$' -bench ImportApplications100k -benchtime 1x
func BenchmarkImportApplications100k(b *testing.B) {
	const rows = 100_000
	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, people(rows, 0), files.EncodingGB18030); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		// The default 32 writers, with a pool that can serve them.
		s := sealedService(b, openEnv(b, testpg.NewDatabase(b)+"&pool_max_conns=40"))
		b.StartTimer()
		start := time.Now()
		rep, err := s.ImportApplications(context.Background(), csv.Bytes())
		if err != nil || rep.Imported != rows {
			b.Fatalf("import: %v (%d imported)", err, rep.Imported)
		}
		b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
	}
}

// sealedService is e's batch service over piistore, as cardledger runs it.
func sealedService(b testing.TB, e *env) *Service {
	ctx := context.Background()
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		b.Fatal(err)
	}
	master, err := piistore.NewMasterKey(raw)
	if err != nil {
		b.Fatal(err)
	}
	if err := piistore.Migrate(ctx, e.pool); err != nil {
		b.Fatal(err)
	}
	keys, err := piistore.NewKeyring(e.pool, master, nil, piistore.KeyringOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var store eventstore.Store = piistore.New(e.store, keys)
	cmds, err := commands.NewService(store, testIDKey, testClock)
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Deps{Store: store, Pool: e.pool, Commands: cmds, IDKey: testIDKey, Clock: testClock,
		Actor: domain.Actor{Client: "batch-bench"}, Workers: 32})
	if err != nil {
		b.Fatal(err)
	}
	return s
}
