package batch

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/cardledger/cardledger/batch/files"
	"github.com/cardledger/cardledger/internal/testpg"
)

// BenchmarkImportApplications100k imports a 100,000-row GB18030 file into
// an empty store: go test ./batch -run '^$' -bench ImportApplications100k -benchtime 1x
func BenchmarkImportApplications100k(b *testing.B) {
	const rows = 100_000
	var csv bytes.Buffer
	if err := files.WriteApplications(&csv, people(rows, 0), files.EncodingGB18030); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		// The default 32 writers, with a pool that can serve them.
		e := openEnv(b, testpg.NewDatabase(b)+"&pool_max_conns=40")
		s := e.service(b)
		s.workers = 32
		b.StartTimer()
		start := time.Now()
		rep, err := s.ImportApplications(context.Background(), csv.Bytes())
		if err != nil || rep.Imported != rows {
			b.Fatalf("import: %v (%d imported)", err, rep.Imported)
		}
		b.ReportMetric(float64(rows)/time.Since(start).Seconds(), "rows/s")
	}
}
