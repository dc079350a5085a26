package commands_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cardledger/cardledger/commands"
	"github.com/cardledger/cardledger/domain"
)

// legacyFile makes a legacy card file of n valid rows: distinct people
// (birth dates over 1950-1999, sequence numbers) and card numbers.
func legacyFile(n int) []byte {
	var b strings.Builder
	b.WriteString("卡号,姓名,身份证号码,发卡日期,卡状态,发卡机构\n")
	start := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		birth := start.AddDate(0, 0, i/900)
		first := fmt.Sprintf("320505%s%03d", birth.Format("20060102"), i%900)
		id := first + string(domain.IDCheckChar(first))
		fmt.Fprintf(&b, "L%08d,张%d,%s,2005-%02d-%02d,正常,苏州市社保中心\n", i, i, id, 1+i%12, 1+i%28)
	}
	return []byte(b.String())
}

// BenchmarkLegacyImport migrates CARDLEDGER_BENCH_LEGACY_ROWS rows (default
// 2,000; the figure is 100,000) into a fresh PostgreSQL event store
// per iteration and reports rows/s; every run must reconcile.
//
//	CARDLEDGER_BENCH_LEGACY_ROWS=100000 go test ./commands -run '^$' -bench LegacyImport -benchtime 1x
func BenchmarkLegacyImport(b *testing.B) {
	rows := 2000
	if s := os.Getenv("CARDLEDGER_BENCH_LEGACY_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("CARDLEDGER_BENCH_LEGACY_ROWS=%q", s)
		}
		rows = n
	}
	data := legacyFile(rows)
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		im, _, _ := newLegacyImporter(b)
		im.Workers = 16
		b.StartTimer()
		t0 := time.Now()
		rep, err := im.Import(context.Background(), "bench.csv", data, commands.NewEnvelope(domain.Actor{Client: "bench"}, "bench"), nil)
		total += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if !rep.Reconciled || rep.Imported != rows {
			b.Fatalf("imported %d of %d, reconciled %v", rep.Imported, rows, rep.Reconciled)
		}
	}
	b.ReportMetric(float64(rows*b.N)/total.Seconds(), "rows/s")
}
